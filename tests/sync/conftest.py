"""Hub and desk fixtures for the sync tests; every hub test runs on both engines.

The PostgreSQL hub is a fresh database per test (``CREATE DATABASE hub_<random>``
through an autocommit connection to ``test``), dropped afterwards. Without a server
the PostgreSQL cases are skipped — except under ``CI=true``, where they fail: CI must
never pass by silently skipping the hub tests.
"""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mdt_desk.models.store import Store
from mdt_desk.models.store_key import keep_key, read_key_file, store_key
from mdt_desk.sync import client
from mdt_desk.sync.hub import hub_engine, init_hub
from tests.shared_stores import made_sealed
from tests.sync.support import HUB_KINDS, FakeClock, Hub, drop_pg_hub, new_store, pg_admin, pg_url


@pytest.fixture(scope="session")
def _template_store_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    # Made before any test's keyring exists: its key is sealed by a passphrase instead.
    with made_sealed():
        Store.open(path).close()
        key = store_key(path)
    return path, key


@pytest.fixture
def template_store(_template_store_file: tuple[Path, bytes]) -> Path:
    """One migrated empty store; desks are copies of it with their own replica id.

    Its key is kept again in this test's keyring, as a desk's would be, so
    :func:`new_store` copies it the way a test copies any store of its own.
    """
    path, key = _template_store_file
    keep_key(path, key, store_id=read_key_file(path).store_id)
    return path


def _make_hub(kind: str, folder: Path) -> Iterator[Hub]:
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'hub-{uuid.uuid4().hex[:8]}.sqlite'}"
        engine = hub_engine(url)
        init_hub(engine)
        yield Hub(kind, url, engine)
        engine.dispose()
        return
    admin = pg_admin()
    name = f"hub_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_url(name)
    engine = hub_engine(url)
    try:
        init_hub(engine)
        yield Hub(kind, url, engine)
    finally:
        engine.dispose()
        drop_pg_hub(admin, name)
        admin.close()


@pytest.fixture(params=HUB_KINDS)
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """An empty, initialised hub on each engine."""
    yield from _make_hub(request.param, tmp_path)


@pytest.fixture(params=HUB_KINDS)
def hub_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Hub]]:
    """For Hypothesis: one hub per test, emptied again for every example."""
    made = _make_hub(request.param, tmp_path)
    hub = next(made)

    def fresh() -> Hub:
        hub.reset()
        return hub

    yield fresh
    next(made, None)


@pytest.fixture
def desks(template_store: Path, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """Make desks: ``desks("a", clock=FakeClock())`` opens a new empty desk store."""
    opened: list[Store] = []

    def make(name: str, clock: FakeClock | None = None) -> Store:
        store = new_store(template_store, tmp_path / f"{name}.sqlite", clock or FakeClock())
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture(autouse=True)
def _no_failpoints() -> Iterator[None]:
    yield
    client.FAILPOINTS.clear()
