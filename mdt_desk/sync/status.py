"""The team hub's status: its desks, what each covers, when each was last seen, how far
behind each is, and the size of the log (``mdt-desk hub status``, Settings → Team hub).

Read-only, from ``hub_counter``, ``hub_change`` and ``hub_replica``; it holds no patient
data. A desk appears once it has pushed, or pulled from a hub that records pulls
(``HubInfo.records_pulls``); on an older hub its pull time is unknown (None).
"""

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from mdt_desk.sync.hub import (
    STATUS_COLUMNS,
    _unreachable,
    hub_change,
    hub_counter,
    hub_replica,
    read_hub_info,
)

#: What a desk covers when its login is not held to some practices: every practice.
ALL_PRACTICES = "all practices"


@dataclass(frozen=True, slots=True)
class DeskStatus:
    """One desk as the hub knows it."""

    site_id: str
    label: str
    #: The PostgreSQL login its bookkeeping came through; None on SQLite or if unknown.
    login: str | None
    #: :data:`ALL_PRACTICES`, or (with scopes) the ODS codes of the practices it holds.
    covers: str | tuple[str, ...]
    last_push: dt.datetime | None
    last_pull: dt.datetime | None
    #: The hub ``server_seq`` it has pulled through.
    pulled_through: int
    #: Changes on the hub it has not pulled yet.
    behind: int
    schema_version: int

    @property
    def last_seen(self) -> dt.datetime | None:
        """The later of its last push and its last pull."""
        seen = [moment for moment in (self.last_push, self.last_pull) if moment is not None]
        return max(seen) if seen else None


@dataclass(frozen=True, slots=True)
class HubStatus:
    """The hub's log and its desks, most recently seen first."""

    dialect: str
    #: The last ``server_seq`` (the end of the log).
    last_seq: int
    #: Changes the log holds.
    changes: int
    #: The log's size on disk with its indexes (PostgreSQL); None on a SQLite hub.
    log_bytes: int | None
    #: False on a hub set up before it recorded pulls (``hub init`` brings it up to date).
    records_pulls: bool
    desks: tuple[DeskStatus, ...]


def _login_limits(engine: Engine) -> dict[str, tuple[str, ...]]:
    """Desk login -> the ODS codes of the practices the hub holds it to (row-level
    security); a login without limits is not listed. Only the administrator may read
    the limits: for anyone else, and on a SQLite hub, nothing."""
    if engine.dialect.name != "postgresql":
        return {}
    limits: dict[str, list[str]] = {}
    try:
        with engine.connect() as connection:
            for login, code in connection.execute(
                text(
                    "SELECT d.login, s.value FROM hub_desk_practice d JOIN hub_state s"
                    " ON s.entity = 'practice' AND s.field = 'ods_code'"
                    " AND s.row_id = d.practice_id ORDER BY d.login, s.value"
                )
            ):
                limits.setdefault(str(login), []).append(str(json.loads(code)))
    except SQLAlchemyError:
        return {}  # an older hub, or a desk login: the limits are not for it to read
    return {login: tuple(codes) for login, codes in limits.items()}


def read_hub_status(engine: Engine) -> HubStatus:
    """The hub's status; refuses a database that is not a hub.

    Raises:
        HubError: not a hub; HubUnreachableError: the hub did not answer.
    """
    info = read_hub_info(engine)
    try:
        with engine.connect() as connection:
            present = {c["name"] for c in inspect(connection).get_columns("hub_replica")}
            extra = [hub_replica.c[name] for name in STATUS_COLUMNS if name in present]
            last_seq = int(
                connection.execute(
                    select(hub_counter.c.last_seq).where(hub_counter.c.id == 1)
                ).scalar_one()
            )
            changes = int(
                connection.execute(select(func.count()).select_from(hub_change)).scalar_one()
            )
            log_bytes = None
            if engine.dialect.name == "postgresql":
                log_bytes = int(
                    connection.execute(
                        text("SELECT pg_total_relation_size(CAST('hub_change' AS regclass))")
                    ).scalar_one()
                )
            rows = (
                connection.execute(
                    select(
                        hub_replica.c.site_id,
                        hub_replica.c.label,
                        hub_replica.c.schema_version,
                        hub_replica.c.last_pull_seq,
                        hub_replica.c.last_seen,
                        *extra,
                    )
                )
                .mappings()
                .all()
            )
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    except SQLAlchemyError as error:  # pragma: no cover - driver-specific failures
        raise _unreachable(engine.url, error) from error
    limits = _login_limits(engine)
    desks = [
        DeskStatus(
            site_id=row["site_id"],
            label=row["label"],
            login=row.get("login"),
            covers=limits.get(row.get("login") or "", ALL_PRACTICES),
            last_push=_moment(row["last_seen"]),
            last_pull=_moment(row.get("last_pull_at")),
            pulled_through=int(row["last_pull_seq"]),
            behind=max(0, last_seq - int(row["last_pull_seq"])),
            schema_version=int(row["schema_version"]),
        )
        for row in rows
    ]
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    desks.sort(key=lambda desk: (desk.last_seen or never, desk.site_id), reverse=True)
    return HubStatus(
        dialect=engine.dialect.name,
        last_seq=last_seq,
        changes=changes,
        log_bytes=log_bytes,
        records_pulls=info.records_pulls,
        desks=tuple(desks),
    )


def _moment(stored: str | None) -> dt.datetime | None:
    """A hub time (naive UTC text, "" or None for never) as an aware UTC datetime."""
    if not stored:
        return None
    try:
        moment = dt.datetime.fromisoformat(stored)
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def covers_text(desk: DeskStatus) -> str:
    """What a desk covers, in words for a table."""
    return desk.covers if isinstance(desk.covers, str) else ", ".join(desk.covers)


def size_text(size: int | None) -> str:
    """A size in bytes as a person reads it ("12.3 MB"); "not measured" for None."""
    if size is None:
        return "not measured"
    amount = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} GB"  # pragma: no cover - the loop returns


def moment_text(moment: dt.datetime | None) -> str:
    """A hub time for a table, in UTC to the minute; "never" for None."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "never"


def status_as_json(status: HubStatus) -> dict[str, object]:
    """The stable JSON form (``mdt-desk hub status --json``): times are UTC ISO 8601."""

    def iso(moment: dt.datetime | None) -> str | None:
        return moment.isoformat(timespec="seconds") if moment is not None else None

    return {
        "dialect": status.dialect,
        "records_pulls": status.records_pulls,
        "log": {
            "changes": status.changes,
            "last_seq": status.last_seq,
            "size_bytes": status.log_bytes,
        },
        "desks": [
            {
                "id": desk.site_id,
                "label": desk.label,
                "login": desk.login,
                "covers": desk.covers if isinstance(desk.covers, str) else list(desk.covers),
                "last_seen": iso(desk.last_seen),
                "last_push": iso(desk.last_push),
                "last_pull": iso(desk.last_pull),
                "pulled_through": desk.pulled_through,
                "behind": desk.behind,
                "schema_version": desk.schema_version,
            }
            for desk in status.desks
        ],
    }


__all__ = [
    "ALL_PRACTICES",
    "DeskStatus",
    "HubStatus",
    "covers_text",
    "moment_text",
    "read_hub_status",
    "size_text",
    "status_as_json",
]
