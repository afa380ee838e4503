"""Test helpers: a team of unrelated staff, and how many staff rows a read really reads."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from mdt_desk.models.store import Store
from mdt_desk.services import staff as staff_service

#: A statement that reads the staff table (``FROM staff`` or ``JOIN staff``).
_READS_STAFF = re.compile(r"\b(?:FROM|JOIN)\s+staff\b", re.IGNORECASE)


def add_unrelated_staff(store: Store, count: int, practice_code: str = "A81004") -> None:
    """``count`` staff who cover another practice and have nothing to do with anyone's
    record: what a desk serving a larger area holds."""
    with store.write(actor_label="test set-up") as session:
        for number in range(count):
            staff_service.add_staff(
                session,
                family_name=f"Unrelated{number:04d}",
                given_name="Alex",
                profession="district_nurse",
                practice_codes=(practice_code,),
            )


@dataclass
class StaffReads:
    """The statements that read the staff table, with their parameters."""

    statements: list[tuple[str, object]] = field(default_factory=list)

    def rows(self, session: Session) -> int:
        """The rows those statements return, each run again as it was."""
        connection = session.connection()
        rows = 0
        for statement, parameters in self.statements:
            result = connection.exec_driver_sql(statement, parameters)  # type: ignore[arg-type]
            rows += len(result.fetchall())
        return rows


@contextmanager
def staff_reads() -> Iterator[StaffReads]:
    """Record every statement any engine runs against the staff table meanwhile."""
    reads = StaffReads()

    def listen(
        _conn: object,
        _cursor: object,
        statement: str,
        parameters: object,
        _context: object,
        _executemany: bool,
    ) -> None:
        if _READS_STAFF.search(statement):
            reads.statements.append((statement, parameters))

    event.listen(Engine, "after_cursor_execute", listen)
    try:
        yield reads
    finally:
        event.remove(Engine, "after_cursor_execute", listen)
