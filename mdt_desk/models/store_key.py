"""The store's encryption key: made once per store, kept in the OS keyring or sealed.

Every store is a SQLCipher 4 database encrypted with its own random 256-bit key, handed
to SQLCipher as a raw key (``x'…'``), so opening it costs no key derivation. Where the
key lives is written in a small file beside the store, ``<store>.key`` (0600), which
holds no secret of its own:

- ``"kept_in": "keyring"``: the key is in the OS keyring (service
  :data:`KEYRING_SERVICE`, account the store's id). The usual case on a desktop.
- ``"kept_in": "passphrase"``: the key is sealed (AES-256-GCM) under a key derived by
  argon2id from the store passphrase: for a computer without a keyring. The desk asks
  for the passphrase once per run; on servers and in CI only, it may come from
  :data:`PASSPHRASE_ENV` (and then new stores are always sealed with it, never put in
  the keyring, so every process of the run can open them).

Losing the key loses the store: nothing can decrypt it without it. ``mdt-desk store key
export`` writes a sealed copy for an administrator to keep somewhere safe, and ``import``
puts it back (:func:`export_key`, :func:`import_key`).
"""

import base64
import binascii
import contextlib
import json
import os
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.errors
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mdt_desk.errors import StoreError
from mdt_desk.models.private_files import write_private

KEYRING_SERVICE = "MDT Desk store key"
PASSPHRASE_ENV = "MDT_DESK_STORE_PASSPHRASE"  # noqa: S105 (a variable's name)
KEY_FILE_SUFFIX = ".key"
KEY_FILE_FORMAT = "mdt-desk-store-key/1"
EXPORT_FORMAT = "mdt-desk-store-key-export/1"
KEY_BYTES = 32
MIN_PASSPHRASE_LENGTH = 8

# argon2id with RFC 9106's low-memory profile, as for PINs: about 0.1 s here.
_KDF_TIME_COST = 3
_KDF_MEMORY_KIB = 64 * 1024
_KDF_LANES = 4
_SALT_BYTES = 16
_NONCE_BYTES = 12


class StoreKeyError(StoreError):
    """The store's key is missing or wrong: the store cannot be opened (exit status 2)."""


class WrongPassphraseError(StoreKeyError):
    """The passphrase given does not unseal the key; nothing was opened or changed."""


#: Asks the person for the store passphrase: ``(store path, new)`` → the passphrase, or
#: ``None`` if they gave none. ``new`` is true when the passphrase is being chosen.
PassphrasePrompt = Callable[[Path, bool], str | None]

_prompt: list[PassphrasePrompt | None] = [None]
#: Keys unlocked in this run, by store id: the passphrase is asked once per run.
_unlocked: dict[str, bytes] = {}
_unlocked_lock = threading.Lock()


def set_passphrase_prompt(prompt: PassphrasePrompt | None) -> None:
    """Say how this program asks for a store passphrase (the app: a dialog; the CLI: a
    terminal prompt). Without one, only the environment can give it."""
    _prompt[0] = prompt


def forget_unlocked_keys() -> None:
    """Forget the keys unlocked in this run (tests; a desk locking for good)."""
    with _unlocked_lock:
        _unlocked.clear()


@dataclass(frozen=True, slots=True)
class KeyFile:
    """What ``<store>.key`` says: the store's id and where its key is kept."""

    store_id: str
    kept_in: str
    sealed: dict[str, str] | None = None


def key_file_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + KEY_FILE_SUFFIX)


def has_key_file(store_path: Path) -> bool:
    return key_file_path(store_path).is_file()


def read_key_file(store_path: Path) -> KeyFile:
    path = key_file_path(store_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != KEY_FILE_FORMAT:
            raise ValueError("not a store key file")
        kept_in = str(data["kept_in"])
        sealed = data.get("sealed")
        if kept_in not in ("keyring", "passphrase") or (kept_in == "passphrase" and not sealed):
            raise ValueError("unknown key location")
        return KeyFile(str(uuid.UUID(str(data["store_id"]))), kept_in, sealed)
    except FileNotFoundError as error:
        raise StoreKeyError(
            f"The store {store_path} is encrypted, and the file that says where its key is "
            f"kept ({path.name}) is missing. Put it back beside the store, or restore the "
            "key from an administrator's key backup with `mdt-desk store key import`. "
            "Nothing was changed."
        ) from error
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StoreKeyError(
            f"The key file {path} cannot be read ({error}). Restore the key from an "
            "administrator's key backup with `mdt-desk store key import`. Nothing was changed."
        ) from error


def _write_key_file(store_path: Path, key_file: KeyFile) -> None:
    data: dict[str, object] = {
        "format": KEY_FILE_FORMAT,
        "store_id": key_file.store_id,
        "kept_in": key_file.kept_in,
    }
    if key_file.sealed is not None:
        data["sealed"] = key_file.sealed
    write_private(key_file_path(store_path), json.dumps(data, indent=2).encode() + b"\n")


def _keyring_usable() -> bool:
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if name.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return False
    # keyrings.alt's files keep secrets in plain text (or weakly); never use them.
    if name.startswith("keyrings.alt"):
        return False
    return not (name.startswith("keyring.backends.chainer") and backend.priority <= 0)


def _derive(passphrase: str, salt: bytes) -> bytes:
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        salt,
        time_cost=_KDF_TIME_COST,
        memory_cost=_KDF_MEMORY_KIB,
        parallelism=_KDF_LANES,
        hash_len=KEY_BYTES,
        type=Type.ID,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal(key: bytes, passphrase: str, store_id: str) -> dict[str, str]:
    """``key`` sealed under ``passphrase`` (argon2id, then AES-256-GCM bound to the id)."""
    salt = secrets.token_bytes(_SALT_BYTES)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(_derive(passphrase, salt)).encrypt(nonce, key, store_id.encode())
    return {
        "kdf": "argon2id",
        "time_cost": str(_KDF_TIME_COST),
        "memory_kib": str(_KDF_MEMORY_KIB),
        "lanes": str(_KDF_LANES),
        "salt": _b64(salt),
        "nonce": _b64(nonce),
        "ciphertext": _b64(sealed),
    }


def unseal(sealed: dict[str, str], passphrase: str, store_id: str, what: str) -> bytes:
    """The key in ``sealed``; a clear :class:`StoreKeyError` for a wrong passphrase."""
    try:
        salt = base64.b64decode(sealed["salt"], validate=True)
        nonce = base64.b64decode(sealed["nonce"], validate=True)
        ciphertext = base64.b64decode(sealed["ciphertext"], validate=True)
        derived = hash_secret_raw(
            passphrase.encode("utf-8"),
            salt,
            time_cost=int(sealed["time_cost"]),
            memory_cost=int(sealed["memory_kib"]),
            parallelism=int(sealed["lanes"]),
            hash_len=KEY_BYTES,
            type=Type.ID,
        )
    except (KeyError, ValueError, binascii.Error) as error:
        raise StoreKeyError(f"{what} is damaged ({error}); nothing was changed.") from error
    try:
        key = AESGCM(derived).decrypt(nonce, ciphertext, store_id.encode())
    except InvalidTag as error:
        raise WrongPassphraseError(
            f"Passphrase not recognised for {what}. Nothing was opened or changed; "
            "try again with the passphrase that was chosen for it."
        ) from error
    if len(key) != KEY_BYTES:
        raise StoreKeyError(f"{what} holds a key of the wrong length; nothing was changed.")
    return key


def _passphrase(store_path: Path, *, new: bool) -> str | None:
    from_environment = os.environ.get(PASSPHRASE_ENV)
    if from_environment:
        return from_environment
    prompt = _prompt[0]
    return None if prompt is None else prompt(store_path, new)


def new_store_key(store_path: Path) -> bytes:
    """Make the key of a store about to be created at ``store_path``, and keep it.

    Raises:
        StoreKeyError: there is no keyring and no passphrase was given.
    """
    key = secrets.token_bytes(KEY_BYTES)
    keep_key(store_path, key)
    return key


def keep_key(store_path: Path, key: bytes, *, store_id: str | None = None) -> None:
    """Keep ``key`` as the key of the store at ``store_path`` (a new id unless given)."""
    store_id = store_id or str(uuid.uuid4())
    if not os.environ.get(PASSPHRASE_ENV) and _keyring_usable():
        try:
            kept_before = keyring.get_password(KEYRING_SERVICE, store_id)
            keyring.set_password(KEYRING_SERVICE, store_id, key.hex())
        except keyring.errors.KeyringError as error:
            raise StoreKeyError(
                f"The keyring refused to keep the store's key ({error}). Nothing was written."
            ) from error
        try:
            _write_key_file(store_path, KeyFile(store_id, "keyring"))
        except BaseException:
            # Without its key file nothing would ever find (or remove) the entry: put
            # the keyring back as it was (an imported key may have been there already).
            _restore_keyring_entry(store_id, kept_before)
            raise
    else:
        passphrase = _passphrase(store_path, new=True)
        if not passphrase:
            raise StoreKeyError(
                "This computer has no keyring to keep the store's encryption key, and no "
                "store passphrase was given. Choose a passphrase when MDT Desk asks for "
                f"one (on a server or in CI only: set {PASSPHRASE_ENV}). Nothing was written."
            )
        if len(passphrase) < MIN_PASSPHRASE_LENGTH:
            raise StoreKeyError(
                f"A store passphrase needs at least {MIN_PASSPHRASE_LENGTH} characters. "
                "Nothing was written."
            )
        sealed = seal(key, passphrase, store_id)
        _write_key_file(store_path, KeyFile(store_id, "passphrase", sealed))
    with _unlocked_lock:
        _unlocked[store_id] = key


def _restore_keyring_entry(store_id: str, value: str | None) -> None:
    """Put the keyring entry of ``store_id`` back to ``value`` (``None``: no entry)."""
    with contextlib.suppress(keyring.errors.KeyringError):
        if value is None:
            keyring.delete_password(KEYRING_SERVICE, store_id)
        else:
            keyring.set_password(KEYRING_SERVICE, store_id, value)


def store_key(store_path: Path) -> bytes:
    """The key of the existing store at ``store_path``.

    Raises:
        StoreKeyError: the key file or the keyring entry is missing, or the passphrase
            is wrong or not given.
    """
    key_file = read_key_file(store_path)
    with _unlocked_lock:
        found = _unlocked.get(key_file.store_id)
    if found is not None:
        return found
    if key_file.kept_in == "keyring":
        key = _key_from_keyring(store_path, key_file.store_id)
    else:
        assert key_file.sealed is not None
        passphrase = _passphrase(store_path, new=False)
        if not passphrase:
            raise StoreKeyError(
                f"The store {store_path} is encrypted with a store passphrase, and none was "
                f"given. Enter it when MDT Desk asks (on a server or in CI only: set "
                f"{PASSPHRASE_ENV}). Nothing was opened."
            )
        key = unseal(key_file.sealed, passphrase, key_file.store_id, f"the store {store_path}")
    with _unlocked_lock:
        _unlocked[key_file.store_id] = key
    return key


def _key_from_keyring(store_path: Path, store_id: str) -> bytes:
    missing = StoreKeyError(
        f"The encryption key of the store {store_path} is not in this computer's keyring "
        f"(store id {store_id}). Without it the store cannot be read: restore it from an "
        "administrator's key backup with `mdt-desk store key import`. Nothing was changed."
    )
    if not _keyring_usable():
        raise StoreKeyError(
            f"The store {store_path} keeps its key in the OS keyring, and this session has "
            "no keyring (sign in to the desktop, or unlock the keyring). Nothing was opened."
        )
    try:
        value = keyring.get_password(KEYRING_SERVICE, store_id)
    except keyring.errors.KeyringError as error:
        raise StoreKeyError(
            f"The keyring would not give the store's key ({error}). Unlock the keyring and "
            "try again. Nothing was opened."
        ) from error
    if value is None:
        raise missing
    try:
        key = bytes.fromhex(value)
    except ValueError as error:
        raise missing from error
    if len(key) != KEY_BYTES:
        raise missing
    return key


def forget_key(store_path: Path) -> None:
    """Remove the key file and keyring entry of a store that is gone (a failed creation)."""
    try:
        key_file = read_key_file(store_path)
    except StoreKeyError:
        return
    with _unlocked_lock:
        _unlocked.pop(key_file.store_id, None)
    if key_file.kept_in == "keyring" and _keyring_usable():
        with contextlib.suppress(keyring.errors.KeyringError):
            keyring.delete_password(KEYRING_SERVICE, key_file.store_id)
    key_file_path(store_path).unlink(missing_ok=True)


def export_key(store_path: Path, out: Path, backup_passphrase: str) -> Path:
    """Write the store's key, sealed under ``backup_passphrase``, to ``out`` (0600)."""
    if len(backup_passphrase) < MIN_PASSPHRASE_LENGTH:
        raise StoreKeyError(
            f"A key backup passphrase needs at least {MIN_PASSPHRASE_LENGTH} characters. "
            "Nothing was written."
        )
    key = store_key(store_path)
    store_id = read_key_file(store_path).store_id
    data = {
        "format": EXPORT_FORMAT,
        "store_id": store_id,
        "store_file": store_path.name,
        "sealed": seal(key, backup_passphrase, store_id),
    }
    write_private(out, json.dumps(data, indent=2).encode() + b"\n")
    return out


def read_export(source: Path) -> tuple[str, dict[str, str]]:
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        if data.get("format") != EXPORT_FORMAT:
            raise ValueError("not an MDT Desk key backup")
        return str(uuid.UUID(str(data["store_id"]))), dict(data["sealed"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StoreKeyError(
            f"{source} is not a store key backup MDT Desk can read ({error}). Nothing was changed."
        ) from error


def import_key(
    store_path: Path,
    source: Path,
    backup_passphrase: str,
    opens: Callable[[Path, bytes], bool],
) -> str:
    """Keep the key from the backup ``source`` as ``store_path``'s key; its store id.

    ``opens(store_path, key)`` must say the key decrypts the store before anything is
    written: the key file it replaces may hold the only copy of the right key (sealed
    by passphrase), and importing the wrong backup must not lose it.
    """
    store_id, sealed = read_export(source)
    key = unseal(sealed, backup_passphrase, store_id, f"the key backup {source}")
    if not opens(store_path, key):
        raise StoreKeyError(
            f"The key in {source} does not open the store {store_path}: it is the backup of "
            "another store. Nothing was changed."
        )
    keep_key(store_path, key, store_id=store_id)
    return store_id
