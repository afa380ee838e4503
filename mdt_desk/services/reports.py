"""Reports returned by imports: counts and one line per refused row."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowProblem:
    """One input row that was not imported, and why (in words for the user)."""

    line: int
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """What an import did. ``problems`` lists refused rows by line number."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: tuple[RowProblem, ...] = field(default_factory=tuple)

    @property
    def rejected(self) -> int:
        return len(self.problems)
