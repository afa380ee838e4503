"""What travels between a desk and the hub: one field change, with its clocks."""

import hashlib
from dataclasses import dataclass
from typing import NamedTuple

from mdt_desk.models.seal import Seal

#: A desk whose clock is further than this from the hub's may not push.
MAX_SKEW_MS = 5 * 60 * 1000
#: Changes per push batch (one short hub transaction).
BATCH_SIZE = 2000
#: Changes per pulled page: one local write transaction of about 25 ms (measured),
#: so an edit made on the desk while a large sync runs waits no longer than that.
#: The desk's positions at its hub (``store_meta``): its own changes the hub has, up
#: to this origin sequence; the hub's log, applied up to this server sequence.
META_PUSHED_THROUGH = "sync_pushed_through"
META_PULL_CURSOR = "sync_pull_cursor"

PULL_PAGE_SIZE = 250

#: Fields whose concurrent change is always for a person to check, even to one value.
IDENTITY_FIELDS = frozenset({("patient", "nhs_number"), ("patient", "date_of_birth")})
RETIRED = "retired_at"
#: Bookkeeping fields every edit touches: last writer wins, never a conflict to review.
BOOKKEEPING_FIELDS = frozenset({"updated_at", "created_at"})
#: Credentials: last writer wins and no review item. A PIN hash means nothing to a
#: reviewer, and choosing one from the review list would set someone's PIN.
CREDENTIAL_FIELDS = frozenset({("staff", "pin_hash"), ("staff", "pin_must_change")})
#: A staff member's roles: a concurrent change is settled to the roles that grant less
#: (``services.access.less_privileged``), not to the later clock (see ``sync/push.py``).
ROLES_FIELD = ("staff", "roles")
#: How the journal names a schema upgrade's transaction: the values an upgrade gives the
#: new columns of existing rows (migrations 0004 and 0006). Every desk makes its own when
#: it upgrades, whenever that is, so such a value only fills a field nobody has set: it
#: never replaces a value, however late its clock, and never raises a review item. (A
#: desk upgraded last must not reset everyone's PINs, roles, leavers or sensitive flags.)
UPGRADE_LABEL_PREFIX = "MDT Desk upgrade (schema "


def is_upgrade_default(actor_id: str | None, actor_label: str) -> bool:
    return actor_id is None and actor_label.startswith(UPGRADE_LABEL_PREFIX)


#: A change's parts its payload hash covers: origin site, origin seq, transaction id,
#: clock, entity, row id, field, op, value.
PayloadParts = tuple[str, int, str, int, str, str, str, str, str | None]


def payload_hash_of(parts: PayloadParts) -> str:
    """SHA-256 of one change's content (:attr:`Change.payload_hash`), from its parts: a
    pulled log row is checked without being made a :class:`Change` first."""
    *head, value = parts
    text_parts = [str(part) for part in head]
    text_parts.append("\x00" if value is None else value)
    return hashlib.sha256("\x1f".join(text_parts).encode()).hexdigest()


class Change(NamedTuple):
    """One changed field as the journal recorded it on its desk.

    A named tuple, not a frozen dataclass: a first sync makes one per change pulled
    (hundreds of thousands), and a tuple is made in a quarter of the time.

    ``base_hlc``/``base_site`` is the clock of the value the editor's desk held for the
    field when the change was made (0/"" for a new field); ``row_base_hlc`` the newest
    clock it held for any field of the row. The hub compares them with its own current
    clocks to tell a change made in knowledge of the latest value from a concurrent one.
    Values are the journal's JSON of the stored value (``None`` for SQL NULL).
    """

    origin_site: str
    origin_seq: int
    tx_id: str
    hlc: int
    base_hlc: int
    base_site: str
    row_base_hlc: int
    entity: str
    row_id: str
    field: str
    op: str
    value: str | None
    schema_version: int
    actor_id: str | None
    actor_label: str
    recorded_at: str

    @property
    def payload_hash(self) -> str:
        """SHA-256 of the change's content: a re-push must carry the very same change."""
        return payload_hash_of(
            (
                self.origin_site,
                self.origin_seq,
                self.tx_id,
                self.hlc,
                self.entity,
                self.row_id,
                self.field,
                self.op,
                self.value,
            )
        )

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.entity, self.row_id, self.field)

    @property
    def clock(self) -> tuple[int, str]:
        return (self.hlc, self.origin_site)

    @property
    def upgrade_default(self) -> bool:
        """Made by a schema upgrade: fills the field only where nothing else has."""
        return is_upgrade_default(self.actor_id, self.actor_label)


#: A pulled transaction's verdict: from before the hub kept seals (applied, noted).
VERDICT_BEFORE_SEALS = "before seals"
#: This desk's own change coming back from the hub: never applied, so not checked.
VERDICT_OWN = "own"


class PulledChange(NamedTuple):
    """A change as the hub hands it back, in hub order (a named tuple, as
    :class:`Change`: a first sync makes one per change).

    ``seal`` is its transaction's seal at the hub (``None``: unsealed); ``verdict`` is
    what checking the transaction's content against it found ("" when it holds,
    :data:`VERDICT_BEFORE_SEALS`, or why not); ``record`` names the change found
    altered, when the hub's per-change hash shows which one.
    """

    server_seq: int
    change: Change
    seal: Seal | None = None
    verdict: str = ""
    record: str = ""


@dataclass(frozen=True, slots=True)
class PulledPage:
    """One page of other desks' changes, in hub order, and how far it reaches.

    ``through`` is the hub position the page accounts for: every change after the
    desk's cursor up to it is either in ``changes`` or the desk's own (which it never
    downloads again). It can be past the last change, or the page can be empty while
    ``through`` moves on, when only this desk's own changes lie between.
    """

    changes: list[PulledChange]
    through: int
    #: the transaction standing at ``through`` in the hub's log (a mark: continuity.py)
    through_tx: str = ""
    #: a transaction the page ends inside of (a large one, cut between two records):
    #: the next page carries on with it
    cut_tx: str = ""
