"""``mdt-desk hub verify URL``: walk the whole hub log, every origin desk's chain.

For each origin desk (and the hub's own review items and settled values): each seal
recomputes from its header and follows the one before it; each transaction's changes
in the log are the ones sealed, with the header sealed (author, time, clock); no change
of this version is outside a seal. Changes from before the hub kept seals (below the
boundary ``hub init`` recorded) are counted, not breaks.

Read in one pass, ordered by the log's ``(origin_site, origin_seq)`` key, streamed: a
hub of millions of changes is walked in memory for one transaction at a time (and the
seals' headers).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError

from mdt_desk.models.seal import (
    OUTSIDE_SEAL,
    SEALED_SINCE_SCHEMA,
    ChainBreak,
    Seal,
    content_problem,
    header_problem,
    link_problem,
    outside_seal,
    record_name,
)
from mdt_desk.sync.hub import (
    LOG_COLUMNS,
    META_HUB_ID,
    HubError,
    _unreachable,
    hub_change,
    hub_meta,
    hub_replica,
    hub_seal,
    read_hub_info,
    sealed_after,
)
from mdt_desk.sync.protocol import Change


@dataclass
class HubVerification:
    breaks: list[ChainBreak] = field(default_factory=list)
    desks: dict[str, str] = field(default_factory=dict)
    sealed: int = 0
    #: changes logged before the hub kept seals (below its boundary)
    before_seals: int = 0
    #: unsealed changes of desks that run a version from before seals
    from_older_desks: int = 0

    @property
    def holds(self) -> bool:
        return not self.breaks

    def name(self, origin: str) -> str:
        return self.desks.get(origin) or f"desk {origin[:8]}"


def _payload_altered(row: Any) -> bool:
    if not row.payload_hash:
        return False
    return bool(
        row.payload_hash
        != Change(
            origin_site=row.origin_site,
            origin_seq=int(row.origin_seq),
            tx_id=row.tx_id,
            hlc=int(row.hlc),
            base_hlc=0,
            base_site="",
            row_base_hlc=0,
            entity=row.entity,
            row_id=row.row_id,
            field=row.field,
            op=row.op,
            value=row.value,
            schema_version=int(row.schema_version),
            actor_id=row.actor_id,
            actor_label=row.actor_label,
            recorded_at=row.recorded_at,
        ).payload_hash
    )


def _named(rows: Sequence[Any]) -> Any:
    """The change to name in a break: one the hub's own per-change hash shows altered."""
    return next((row for row in rows if _payload_altered(row)), rows[0])


def _transactions(rows: Iterator[Any]) -> Iterator[tuple[str, str, list[Any]]]:
    """(origin, tx id, changes) runs of the log in (origin, origin seq) order."""
    key: tuple[str, str] | None = None
    run: list[Any] = []
    for row in rows:
        if (row.origin_site, row.tx_id) != key and run:
            assert key is not None
            yield key[0], key[1], run
            run = []
        key = (row.origin_site, row.tx_id)
        run.append(row)
    if run and key is not None:
        yield key[0], key[1], run


def _seals(connection: Connection) -> dict[str, list[Seal]]:
    seals: dict[str, list[Seal]] = {}
    for row in connection.execute(
        select(hub_seal).order_by(hub_seal.c.origin_site, hub_seal.c.chain_seq)
    ):
        values = dict(row._mapping)
        values["origin"] = values.pop("origin_site")
        seal = Seal.from_row(values)
        seals.setdefault(seal.origin, []).append(seal)
    return seals


def _unsealed(
    result: HubVerification, origin: str, rows: Sequence[Any], *, boundary: int, chained: bool
) -> bool:
    """Count changes from before seals; False for a change that should have one."""
    if all(int(row.server_seq) <= boundary for row in rows):
        result.before_seals += len(rows)
        return True
    if rows[0].schema_version < SEALED_SINCE_SCHEMA and not chained:
        result.from_older_desks += len(rows)
        return True
    named = _named(rows)
    result.breaks.append(
        ChainBreak(
            origin,
            int(named.origin_seq),
            record_name(named.entity, named.row_id, named.field),
            "a change outside the chain (put into the log by hand, or a push still under "
            "way: run this again): nothing sealed it",
        )
    )
    return False


def _check_transaction(result: HubVerification, seal: Seal, rows: Sequence[Any]) -> None:
    """The log's copy of one sealed transaction: its headers, then its changes."""
    stray = outside_seal(seal, rows)
    if stray is not None:
        result.breaks.append(
            ChainBreak(
                seal.origin,
                int(stray.origin_seq),
                record_name(stray.entity, stray.row_id, stray.field),
                OUTSIDE_SEAL,
            )
        )
        return
    problem, named = "", _named(rows)
    checked: set[tuple[Any, ...]] = set()
    for row in rows:
        header = (row.actor_id, row.actor_label, row.recorded_at, row.hlc, row.schema_version)
        if header in checked:
            continue
        checked.add(header)
        problem = header_problem(
            seal,
            origin=row.origin_site,
            actor_id=row.actor_id,
            actor_label=row.actor_label,
            recorded_at=row.recorded_at,
            hlc=row.hlc,
            schema_version=row.schema_version,
        )
        if problem:
            named = row
            break
    problem = problem or content_problem(
        seal, [(int(r.origin_seq), r.entity, r.row_id, r.field, r.op, r.value) for r in rows]
    )
    if problem:
        result.breaks.append(
            ChainBreak(
                seal.origin,
                int(named.origin_seq),
                record_name(named.entity, named.row_id, named.field),
                problem,
            )
        )


def _check_links(
    result: HubVerification, seals: dict[str, list[Seal]], seen: set[str], anchored: set[str]
) -> None:
    """Each origin's seals, one after the other; and each with its changes in the log."""
    for origin, chain in seals.items():
        previous: tuple[int, str] | None = None
        for seal in chain:
            anchor_ok = previous is None and origin in anchored
            problem = link_problem(seal, previous, anchor_ok=anchor_ok)
            if problem:
                result.breaks.append(
                    ChainBreak(origin, seal.first_seq, f"transaction {seal.tx_id}", problem)
                )
            if seal.tx_id not in seen:
                result.breaks.append(
                    ChainBreak(
                        origin,
                        seal.first_seq,
                        f"transaction {seal.tx_id}",
                        "its changes are missing from the log (deleted or renumbered)",
                    )
                )
            previous = (seal.chain_seq, seal.seal_hash)


def _desk_names(connection: Connection) -> dict[str, str]:
    hub_id = str(
        connection.execute(
            select(hub_meta.c.value).where(hub_meta.c.key == META_HUB_ID)
        ).scalar_one()
    )
    names = {
        str(site): str(label)
        for site, label in connection.execute(select(hub_replica.c.site_id, hub_replica.c.label))
    }
    names[hub_id] = "the team hub (review items)"
    return names


def verify_hub(engine: Engine) -> HubVerification:
    """Walk every chain in the hub's log; what holds and where it breaks."""
    read_hub_info(engine)  # a database that is not a hub is refused in words
    result = HubVerification()
    try:
        with engine.connect() as connection:
            if not engine.dialect.has_table(connection, "hub_seal"):
                raise HubError(
                    "This team hub does not keep seals yet: run `mdt-desk hub init URL` on it "
                    "first (its changes so far are then counted as from before the chain)."
                )
            boundary = sealed_after(connection)
            result.desks = _desk_names(connection)
            seals = _seals(connection)
            by_tx = {seal.tx_id: seal for chain in seals.values() for seal in chain}
            result.sealed = len(by_tx)
            seen: set[str] = set()
            anchored: set[str] = set()  # origins with history from before their seals
            log_rows = connection.execution_options(stream_results=True, yield_per=5000).execute(
                select(*LOG_COLUMNS).order_by(hub_change.c.origin_site, hub_change.c.origin_seq)
            )
            for origin, tx_id, rows in _transactions(iter(log_rows)):
                seal = by_tx.get(tx_id)
                if seal is None:
                    if _unsealed(result, origin, rows, boundary=boundary, chained=origin in seals):
                        anchored.add(origin)
                    continue
                seen.add(tx_id)
                _check_transaction(result, seal, rows)
            _check_links(result, seals, seen, anchored)
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    result.breaks.sort(key=lambda found: (found.origin, found.origin_seq))
    return result


__all__ = ["HubVerification", "verify_hub"]
