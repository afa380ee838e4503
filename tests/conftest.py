"""Shared fixtures. Every test gets its own store, settings and data folder."""

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

# Before any Qt import: no display here, and none needed.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from mdt_desk.models.store import META_CREATED_AT, META_REPLICA_ID, Store, connect_store_file
from mdt_desk.models.store_key import PASSPHRASE_ENV, forget_unlocked_keys, keep_key, store_key
from mdt_desk.services import staff as staff_service
from mdt_desk.services.practices import import_ods_practices
from tests.cheap_argon2 import cheap_argon2

TEST_PRACTICES = (
    ("A81001", "THE DENSHAM SURGERY", "00K"),
    ("A81002", "QUEENS PARK MEDICAL CENTRE", "00K"),
    ("A81004", "BLUEBELL MEDICAL CENTRE", "00M"),
)
TODAY = dt.date(2026, 11, 22)


def epraccur_row(
    code: str, name: str, commissioner: str, status: str = "A", setting: str = "4"
) -> str:
    fields = [
        code,
        name,
        "Y63",
        "Q74",
        "THE HEALTH CENTRE",
        "LAWSON STREET",
        "STOCKTON-ON-TEES",
        "CLEVELAND",
        "",
        "TS18 1HU",
        "19740401",
        "",
        status,
        "B",
        commissioner,
        "20130401",
        "",
        "01642 672351",
        "",
        "",
        "",
        "0",
        "",
        commissioner,
        "",
        setting,
        "",
    ]
    return ",".join(f'"{field}"' for field in fields)


@pytest.fixture(scope="session", autouse=True)
def _cheap_argon2() -> Iterator[None]:
    """PINs and store passphrases hashed at argon2's smallest cost for the whole run
    (set up before any shared store is made); see :mod:`tests.cheap_argon2`."""
    with cheap_argon2():
        yield


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user's store, settings or data folder."""
    monkeypatch.setenv("MDT_DESK_STORE", str(tmp_path / "default-store.sqlite"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    """Every test starts with a desktop's usual umask (022, files 0644), so a test that a
    file is private proves the code made it so. ``mdt-desk``'s main() tightens the umask
    for its process, which would otherwise carry over to later tests in this one."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture(scope="session")
def _migrated_store_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """One new store, created and migrated by the real code, for tests to copy, and
    its encryption key.

    Running every migration takes ~0.15 s; hundreds of tests need a new store, so
    each gets a copy of this one with its own identity (see :func:`store`).
    """
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    # Made before any test's keyring exists: its key is sealed by a passphrase instead.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSPHRASE_ENV, "template store passphrase")
        with Store.open(path):
            pass
        key = store_key(path)
    # closed cleanly, everything is in the one file (no WAL left to copy)
    assert not path.with_name(path.name + "-wal").exists()
    return path, key


@pytest.fixture
def store(tmp_path: Path, _migrated_store_file: tuple[Path, bytes]) -> Iterator[Store]:
    """A new, empty store of its own: a copy of the migrated template with a new
    replica id, creation time and store id (its key kept in this test's keyring),
    exactly as :meth:`Store.open` gives a new file."""
    path = tmp_path / "desk.sqlite"
    template, key = _migrated_store_file
    shutil.copyfile(template, path)
    keep_key(path, key)
    with closing(connect_store_file(path, key)) as db, db:
        db.executemany(
            "UPDATE store_meta SET value = ? WHERE key = ?",
            [
                (str(uuid.uuid4()), META_REPLICA_ID),
                (dt.datetime.now(dt.UTC).isoformat(), META_CREATED_AT),
            ],
        )
    with Store.open(path) as opened:
        yield opened


@pytest.fixture
def practices_file(tmp_path: Path) -> Path:
    path = tmp_path / "epraccur-small.csv"
    path.write_text("\n".join(epraccur_row(*practice) for practice in TEST_PRACTICES) + "\n")
    return path


@pytest.fixture
def practice_ids(store: Store, practices_file: Path) -> dict[str, uuid.UUID]:
    """The small practice file imported; ODS code -> practice id."""
    from mdt_desk.services.ids import practice_id_for

    with store.write(actor_label="test set-up") as session:
        import_ods_practices(session, practices_file)
    return {code: practice_id_for(code) for code, _name, _locality in TEST_PRACTICES}


@pytest.fixture
def team(store: Store, practice_ids: dict[str, uuid.UUID]) -> dict[str, uuid.UUID]:
    """A small team; the desk is signed in as the social worker."""
    people = {
        "social_worker": ("Okafor", "Ngozi", "social_worker"),
        "district_nurse": ("Nowak", "Zoë", "district_nurse"),
        "gp": ("Ó Briain", "Seán", "gp"),
    }
    ids: dict[str, uuid.UUID] = {}
    with store.write(actor_label="test set-up") as session:
        for key, (family, given, profession) in people.items():
            ids[key] = staff_service.add_staff(
                session,
                family_name=family,
                given_name=given,
                profession=profession,
                practice_codes=("A81001",),
            ).id
    staff_service.sign_in(store, ids["social_worker"])
    return ids


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI, a skipped test is a failure: every test (hub tests too) must really run."""
    if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = len(reporter.stats.get("skipped", []))
    if skipped and exitstatus == 0:
        reporter.write_line(
            f"CI: {skipped} tests were skipped; in CI every test must run.", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Every test gets an empty in-memory keyring; none touches a real one.

    Store keys go there too (no store passphrase in the environment), and the keys
    unlocked by an earlier test are forgotten.
    """
    import keyring
    from keyring.backend import KeyringBackend

    class _Backend(KeyringBackend):
        priority = 1

        def __init__(self) -> None:
            super().__init__()
            self.passwords: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.passwords.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.passwords[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.passwords.pop((service, username), None)

    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    forget_unlocked_keys()
    backend = _Backend()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
