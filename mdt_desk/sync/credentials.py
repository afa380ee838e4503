"""The team hub's password: in the operating system's keyring, nowhere else.

Never in settings files, logs, command lines or the store. Where no keyring exists (a
bare Linux session), :class:`NoKeyringError` says so, and the desk asks for the password
once per run instead (the GUI) or reads it from the ``MDT_DESK_HUB_PASSWORD`` /
``PGPASSWORD`` environment (the command line).
"""

import contextlib
import os

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mdt_desk.errors import UserError

SERVICE = "MDT Desk team hub"
ENVIRONMENT_VARIABLES = ("MDT_DESK_HUB_PASSWORD", "PGPASSWORD")


class NoKeyringError(UserError):
    """This computer has no keyring to keep the password in."""


def account(url: str) -> str:
    """The keyring entry's name for a hub: ``user@host:port/database`` (no password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:{parsed.database}"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.username or ''}@{parsed.host or ''}{port}/{parsed.database or ''}"


def _usable_backend() -> KeyringBackend:
    backend = keyring.get_keyring()
    # The "fail" backend (no keyring installed) and a chainer with nothing behind it.
    priority = getattr(backend, "priority", 0)
    name = type(backend).__module__ + "." + type(backend).__name__
    if name.startswith("keyring.backends.fail") or (
        name.startswith("keyring.backends.chainer") and priority <= 0
    ):
        raise NoKeyringError(
            "This computer has no keyring to keep the hub password safely, so MDT Desk "
            "will ask for it each time it starts (it is never written to a file)."
        )
    return backend


def save_password(url: str, password: str) -> None:
    """Keep the hub password in the OS keyring."""
    backend = _usable_backend()
    try:
        backend.set_password(SERVICE, account(url), password)
    except keyring.errors.KeyringError as error:
        raise NoKeyringError(f"The keyring refused to keep the password ({error}).") from error


def load_password(url: str, *, environment: bool = False) -> str | None:
    """The hub password from the keyring (then, if asked, the environment), or None."""
    try:
        backend = _usable_backend()
        value = backend.get_password(SERVICE, account(url))
    except (NoKeyringError, keyring.errors.KeyringError):
        value = None
    if value is None and environment:
        for name in ENVIRONMENT_VARIABLES:
            if os.environ.get(name):
                return os.environ[name]
    return value


def forget_password(url: str) -> None:
    with contextlib.suppress(NoKeyringError, keyring.errors.PasswordDeleteError):
        _usable_backend().delete_password(SERVICE, account(url))


def keyring_available() -> bool:
    try:
        _usable_backend()
    except NoKeyringError:
        return False
    return True
