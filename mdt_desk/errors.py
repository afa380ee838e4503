"""The one exception root of MDT Desk.

Errors split in two. A :class:`UserError` is something the person at the desk can
fix (a bad NHS number, a damaged file, a rule of the domain); its message is fit to
show as it is. Anything else that escapes is a bug and is handled by the crash path.
"""

from collections.abc import Mapping


class MdtDeskError(Exception):
    """Root of every exception MDT Desk raises on purpose."""


class UserError(MdtDeskError):
    """A problem the user can fix; ``str(error)`` is the message to show."""


class ValidationError(UserError):
    """Input that breaks a rule, with a message per field where there is one.

    Args:
        message: the summary shown to the user.
        field_errors: field name to message, so a form can show each next to its field.
    """

    def __init__(self, message: str, field_errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.field_errors: dict[str, str] = dict(field_errors or {})


class RuleError(UserError):
    """An action the domain does not allow in the record's current state."""


class NotFoundError(UserError):
    """A record the user named does not exist in this store."""


class StoreError(UserError):
    """The store cannot be opened or used: wrong file, newer version, damaged."""


class StoreBusyError(StoreError):
    """Another program held the store's write lock for longer than we wait; retry."""


class StoreFullError(StoreError):
    """The disk holding the store has no room left; nothing was written."""


class StoreReadOnlyError(StoreError):
    """The store file, or the folder it is in, cannot be written."""


class StoreUnavailableError(StoreError):
    """The store cannot be created or opened: missing folder, no permission."""


class StoreDamagedError(StoreError):
    """SQLite found the store file itself damaged (malformed, not a database)."""


class StoreDiskError(StoreError):
    """The disk reported an error while reading or writing the store."""


class ImportFileError(UserError):
    """A file given to an import cannot be read at all (missing, not CSV, wrong shape)."""
