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


class ImportFileError(UserError):
    """A file given to an import cannot be read at all (missing, not CSV, wrong shape)."""
