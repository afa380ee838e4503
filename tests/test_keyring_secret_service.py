"""The hub password in a REAL Secret Service (gnome-keyring on a private D-Bus session).

Every other test uses the in-memory keyring from conftest. This one proves what the
in-memory one cannot: that `mdt-desk hub password URL` puts the password into the
desktop's keyring, that a second process (the one connecting to the hub) gets it back
from there, and that it never reaches a command line or a file of ours in plain text.

It needs `dbus-run-session` (Debian: dbus-daemon) and `gnome-keyring-daemon` (Debian:
gnome-keyring). Without them it is skipped, except under CI=true, where it fails: CI
must really run it (.ci/run installs both).
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# No server is contacted: building the engine is enough to see which password it carries.
HUB = "postgresql+psycopg://mdt@127.0.0.1:5432/team"
# The keyring's own unlock password (a stand-in for the user's login password).
KEYRING_UNLOCK = "test"

# Runs inside the private bus session: an unlocked keyring, then the two processes.
SESSION_SCRIPT = """\
printf '%s' "$KEYRING_UNLOCK" \\
  | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null \\
  || { echo "gnome-keyring-daemon did not start" >&2; exit 90; }
# The first process: the real command, the password on its standard input.
"$PYTHON" -m mdt_desk.cli hub password "$HUB_URL" >"$OUT/writer.out" 2>"$OUT/writer.err"
echo "$?" >"$OUT/writer.status"
# The second process: no input at all, so the password can only come from the keyring.
exec "$PYTHON" "$OUT/reader.py" "$HUB_URL" </dev/null
"""

# What the desk does to connect to the hub, then every process's command line.
READER_SCRIPT = """\
import hashlib, json, os, sys

import keyring

from mdt_desk.cli import _hub_engine_for

engine = _hub_engine_for(sys.argv[1])
password = engine.url.password
engine.dispose()
command_lines = []
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                command_lines.append(file.read().replace(b"\\0", b" ").decode(errors="replace"))
        except OSError:
            pass
backend = type(keyring.get_keyring())
print(json.dumps({
    "backend": backend.__module__ + "." + backend.__name__,
    "password_sha256": hashlib.sha256(password.encode()).hexdigest() if password else None,
    "command_lines": command_lines,
}))
"""

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the Secret Service is the Linux keyring"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require_secret_service() -> None:
    missing = [
        name for name in ("dbus-run-session", "gnome-keyring-daemon") if not shutil.which(name)
    ]
    if not missing:
        return
    message = (
        f"the real Secret Service test needs {' and '.join(missing)} "
        "(Debian: apt-get install gnome-keyring dbus-daemon)"
    )
    if _in_ci():
        pytest.fail(message + "; in CI it must run (.ci/run installs them)")
    pytest.skip(message)


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A short private XDG_RUNTIME_DIR: the keyring's sockets must fit in 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="mdt-kr-"))
    path.chmod(0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _files_holding(secret: str, *folders: Path) -> list[Path]:
    needle = secret.encode()
    return [
        path
        for folder in folders
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
    ]


@pytest.mark.slow
def test_hub_password_lives_in_the_real_secret_service_across_processes(
    tmp_path: Path, runtime_dir: Path
) -> None:
    _require_secret_service()
    secret = "hub-" + secrets.token_urlsafe(24)
    home = tmp_path / "home"
    out = tmp_path / "out"
    for folder in (home, out):
        folder.mkdir()
    (out / "reader.py").write_text(READER_SCRIPT)
    (out / "session.sh").write_text(SESSION_SCRIPT)
    environment = {
        key: value
        for key, value in os.environ.items()
        # Nothing may hand the password over except the keyring, and no outer bus is used.
        if key not in ("MDT_DESK_HUB_PASSWORD", "PGPASSWORD", "DBUS_SESSION_BUS_ADDRESS")
    }
    environment.update(
        HOME=str(home),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        XDG_RUNTIME_DIR=str(runtime_dir),
        MDT_DESK_STORE=str(tmp_path / "desk.sqlite"),
        PYTHON_KEYRING_BACKEND="keyring.backends.SecretService.Keyring",
        PYTHONPATH=str(ROOT),
        PYTHON=sys.executable,
        HUB_URL=HUB,
        OUT=str(out),
        KEYRING_UNLOCK=KEYRING_UNLOCK,
    )
    command = ["dbus-run-session", "--", "sh", str(out / "session.sh")]

    session = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=tmp_path,
        text=True,
        # No controlling terminal: getpass then reads the password from standard input,
        # as it does when a script pipes it in. Its own process group, to end it whole.
        start_new_session=True,
    )
    try:
        stdout, stderr = session.communicate(secret + "\n", timeout=60)
    except subprocess.TimeoutExpired:
        # A locked keyring waits for a prompt nobody answers; leave no bus behind.
        os.killpg(session.pid, signal.SIGKILL)
        session.communicate()
        raise

    writer_err = (out / "writer.err").read_text() if (out / "writer.err").exists() else ""
    assert session.returncode == 0, f"{stderr}\n{writer_err}"
    assert (out / "writer.status").read_text().strip() == "0", writer_err
    assert "kept in this computer's keyring" in (out / "writer.out").read_text()
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["backend"] == "keyring.backends.SecretService.Keyring"
    # The second process, connecting as the desk does, got the password from the keyring.
    assert report["password_sha256"] == hashlib.sha256(secret.encode()).hexdigest()

    # On no command line: ours, the keyring daemon's, the bus's or anyone's.
    assert secret not in " ".join(command)
    assert any("gnome-keyring-daemon" in line for line in report["command_lines"])
    assert not [line for line in report["command_lines"] if secret in line]
    # In no file of ours in plain text; the keyring keeps its (encrypted) file there.
    keyrings = tmp_path / "xdg-data" / "keyrings"
    assert any(keyrings.glob("*.keyring")), "gnome-keyring kept no keyring file"
    assert _files_holding(secret, tmp_path, runtime_dir) == []


# The store key: one process makes an encrypted store (its key goes to the keyring), a
# second reads it with nothing but the keyring, a third reports what the keyring holds.
STORE_SESSION_SCRIPT = """\
printf '%s' "$KEYRING_UNLOCK" \\
  | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null \\
  || { echo "gnome-keyring-daemon did not start" >&2; exit 90; }
"$PYTHON" -m mdt_desk.cli demo --patients 30 --store "$STORE" >"$OUT/demo.out" 2>"$OUT/demo.err"
echo "$?" >"$OUT/demo.status"
"$PYTHON" -m mdt_desk.cli stats --store "$STORE" </dev/null >"$OUT/stats.out" 2>"$OUT/stats.err"
echo "$?" >"$OUT/stats.status"
exec "$PYTHON" "$OUT/key_reader.py" "$STORE" </dev/null
"""

KEY_READER_SCRIPT = """\
import hashlib, json, sys
from pathlib import Path

import keyring

from mdt_desk.models.store_key import KEYRING_SERVICE, read_key_file

key_file = read_key_file(Path(sys.argv[1]))
kept = keyring.get_password(KEYRING_SERVICE, key_file.store_id)
backend = type(keyring.get_keyring())
print(json.dumps({
    "backend": backend.__module__ + "." + backend.__name__,
    "kept_in": key_file.kept_in,
    "key": kept,
}))
"""


@pytest.mark.slow
def test_the_store_key_lives_in_the_real_secret_service_across_processes(
    tmp_path: Path, runtime_dir: Path
) -> None:
    _require_secret_service()
    home = tmp_path / "home"
    out = tmp_path / "out"
    for folder in (home, out):
        folder.mkdir()
    (out / "key_reader.py").write_text(KEY_READER_SCRIPT)
    (out / "session.sh").write_text(STORE_SESSION_SCRIPT)
    store = tmp_path / "data" / "desk.sqlite"
    environment = {
        key: value
        for key, value in os.environ.items()
        # Only the keyring may hand the key over: no store passphrase, no outer bus.
        if key not in ("MDT_DESK_STORE_PASSPHRASE", "DBUS_SESSION_BUS_ADDRESS")
    }
    environment.update(
        HOME=str(home),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        XDG_RUNTIME_DIR=str(runtime_dir),
        PYTHON_KEYRING_BACKEND="keyring.backends.SecretService.Keyring",
        PYTHONPATH=str(ROOT),
        PYTHON=sys.executable,
        STORE=str(store),
        OUT=str(out),
        KEYRING_UNLOCK=KEYRING_UNLOCK,
    )
    session = subprocess.Popen(
        ["dbus-run-session", "--", "sh", str(out / "session.sh")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=tmp_path,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = session.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(session.pid, signal.SIGKILL)
        session.communicate()
        raise

    assert session.returncode == 0, stderr
    assert (out / "demo.status").read_text().strip() == "0", (out / "demo.err").read_text()
    # The second process opened the encrypted store with the key from the keyring alone.
    assert (out / "stats.status").read_text().strip() == "0", (out / "stats.err").read_text()
    assert "Patients: 30" in (out / "stats.out").read_text()
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["backend"] == "keyring.backends.SecretService.Keyring"
    assert report["kept_in"] == "keyring"
    key = report["key"]
    assert key is not None and len(bytes.fromhex(key)) == 32
    # The key is in no file in plain text (the keyring's own file is encrypted).
    assert _files_holding(key, tmp_path, runtime_dir) == []
    assert store.read_bytes()[:16] != b"SQLite format 3\x00"
