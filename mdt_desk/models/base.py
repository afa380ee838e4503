"""Declarative base, column types and the columns every synced record carries."""

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import uuid6
from sqlalchemy import DateTime, MetaData, TypeDecorator, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so Alembic migrations can refer to them on every engine.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> dt.datetime:
    """The current time, timezone-aware in UTC (the only time the store keeps)."""
    return dt.datetime.now(dt.UTC)


IdFactory = Callable[[], uuid.UUID]

#: Generates record ids on the desk: time-ordered UUIDv7, so two desks never collide
#: and ids sort roughly by creation. Replaceable for reproducible demo data and tests.
new_id: IdFactory = uuid6.uuid7


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware.

    SQLite has no time zone type; storing one convention (UTC) keeps ordering right
    and makes display in Europe/London a pure presentation step.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    """Base of every table in the desk store."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {uuid.UUID: Uuid(), dt.datetime: UTCDateTime()}


def _default_id() -> uuid.UUID:
    # Looked up at call time so tests and the demo can swap the factory.
    return new_id()


class SyncedRecord(Base):
    """Columns of every record that is journalled and synced.

    Records are never physically deleted: ``retired_at`` marks one as withdrawn
    (the tombstone of the sync design), and it can be restored by clearing it.
    """

    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_default_id)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    retired_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None
