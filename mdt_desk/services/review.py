"""The "Needs review" queue: what sync could not decide alone, and deciding it.

Items are made by the team hub (see :mod:`mdt_desk.sync.push`) and reach every desk by
sync. Each shows both values in words, who made each change, when and on which desk.
Resolving is an ordinary journalled change on this desk — the chosen value written to
the record and the item marked resolved — so it syncs like any other edit, and because
the desk has seen the current value the choice is not itself a new conflict.
"""

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Column, Enum, String, Text, select, text
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, RuleError, ValidationError
from mdt_desk.models import SYNCED_MODELS, ReviewItem
from mdt_desk.models.base import utc_now
from mdt_desk.services.access import (
    ROLE_LABELS,
    Permission,
    may_read_sensitive,
    parse_roles,
    principal_of,
    requires,
    review_permission,
)
from mdt_desk.services.display import (
    NOT_KNOWN,
    cui_date,
    cui_time,
    label,
    patient_display_name,
    practice_display_name,
)
from mdt_desk.services.restricted import CONTENT_FIELDS, RESTRICTED_TEXT
from mdt_desk.services.staff import display_staff_name
from mdt_desk.services.text_safety import nfc
from mdt_desk.services.validation import format_nhs_number

_TABLES = {model.__tablename__: model for model in SYNCED_MODELS}

_ENTITY_WORDS = {
    "patient": "Person",
    "care_case": "Case",
    "action": "Action",
    "goal": "Goal",
    "note": "Note",
    "care_team_member": "Care team member",
    "coordinator_assignment": "Care coordinator",
    "meeting": "Meeting",
    "agenda_item": "Agenda item",
    "attendance": "Attendance",
    "alert": "Alert",
    "consent": "Consent",
    "staff": "Staff member",
    "practice": "Practice",
}

_KIND_TITLES = {
    "same_field": "Changed on two desks at once",
    "identity": "Identity changed on two desks",
    "edit_vs_delete": "Changed on one desk, removed on another",
    "duplicate": "Possible duplicate person",
    "coordinator": "Two care coordinators",
    "role_clash": "Roles changed on two desks at once",
    "break_glass": "Restricted items opened (break glass)",
}


class Resolution(StrEnum):
    KEEP_KEPT = "kept"  # the value that stands
    KEEP_OTHER = "other"  # the value that lost
    EDITED = "edited"  # a new value typed by the reviewer
    ACKNOWLEDGED = "acknowledged"  # checked; nothing to change (duplicates, coordinators)
    RESTORED = "restored"  # an edit-versus-delete: bring the record back


@dataclass(frozen=True, slots=True)
class ReviewItemView:
    id: uuid.UUID
    kind: str
    title: str
    entity: str
    row_id: str
    field: str
    record_text: str
    field_text: str
    kept_text: str
    kept_by: str
    kept_at_text: str
    kept_desk: str
    other_text: str
    other_by: str
    other_at_text: str
    other_desk: str
    other_row_id: str
    resolved: bool
    resolution: str
    #: a roles clash settled to roles neither edit gave: the kept edit's own roles
    kept_own_text: str = ""

    @property
    def summary(self) -> str:
        if self.kind == "role_clash":
            return (
                f"{self.record_text}: roles changed to “{self.kept_own_text or self.kept_text}”"
                f" ({self.kept_by}) and to “{self.other_text}” ({self.other_by}) at once. "
                f"The roles that grant less stand: “{self.kept_text}”. A team administrator "
                "can change them in Settings → Team."
            )
        if self.kind == "duplicate":
            return f"{self.record_text}: the same NHS number as another person"
        if self.kind == "coordinator":
            return f"{self.record_text}: {self.kept_text} and {self.other_text}"
        if self.kind == "break_glass":
            return f"{self.record_text}: {self.kept_text}"
        return (
            f"{self.record_text}, {self.field_text}: “{self.kept_text}” ({self.kept_by}) "
            f"kept over “{self.other_text}” ({self.other_by})"
        )


def _decoded(value: str | None) -> Any:
    """The stored value behind a review item's value (the journal's JSON of it)."""
    if value is None:
        return None
    return json.loads(value)


def _words(value: Any) -> str:
    """A value in words when its column is not known (the best guess from its form)."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    text_value = str(value)
    if len(text_value) == 10 and text_value[4] == "-" and text_value[7] == "-":
        try:
            return cui_date(dt.date.fromisoformat(text_value))
        except ValueError:
            return text_value
    return label(text_value) if text_value.islower() and "_" in text_value else text_value


#: What an empty value reads as.
EMPTY = "(empty)"


def _column(entity: str, field: str) -> Column[Any] | None:
    model = _TABLES.get(entity)
    if model is None or not field:
        return None
    return cast("Column[Any] | None", model.__table__.columns.get(field))


def _python_type(column: Column[Any]) -> type | None:
    try:
        python_type: type = column.type.python_type
    except NotImplementedError:
        return None
    return python_type


def _moment(value: str) -> str:
    """A stored UTC moment (naive text) in CUI form, London time."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return cui_time(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def _value_words(session: Session, entity: str, field: str, value: Any) -> str:
    """A stored value as a person reads it: labels for codes, names for people and
    records, ``14-Jul-2027`` for dates, Yes or No — never a code or an id."""
    if value is None or value == "":
        return EMPTY
    if (entity, field) == ("staff", "roles"):
        return roles_words(str(value))
    column = _column(entity, field)
    if column is None:
        return _words(value)
    python_type = _python_type(column)
    target = next((key.column.table.name for key in column.foreign_keys), None)
    if python_type is uuid.UUID or target is not None:
        return _reference_words(session, target or "", str(value))
    return _typed_words(python_type, value)


def roles_words(value: str) -> str:
    """A staff member's roles as a person reads them: ``Care coordinator, MDT chair``."""
    return ", ".join(ROLE_LABELS[role] for role in sorted(parse_roles(value))) or "No role"


def _typed_words(python_type: type | None, value: Any) -> str:
    text_value = str(value)
    if python_type is bool:
        words = "Yes" if value in (True, 1, "1", "true") else "No"
    elif python_type is dt.datetime:
        words = _moment(text_value)
    elif python_type is dt.date:
        try:
            words = cui_date(dt.date.fromisoformat(text_value[:10]))
        except ValueError:
            words = text_value
    elif isinstance(python_type, type) and issubclass(python_type, StrEnum):
        words = label(text_value)
    else:
        words = text_value
    return words


def _row(session: Session, sql: str, row_id: str) -> Any:
    return session.execute(text(sql), {"id": row_id}).first()


def staff_words(session: Session, staff_id: str) -> str:
    """A staff member's name from their id (hex or canonical), or ``Not Known``."""
    try:
        key = uuid.UUID(staff_id).hex
    except ValueError:
        return NOT_KNOWN
    row = _row(session, "SELECT family_name, given_name, title FROM staff WHERE id = :id", key)
    return display_staff_name(row.family_name, row.given_name, row.title) if row else NOT_KNOWN


def _person(session: Session, patient_id: str) -> str | None:
    """``SMITH, Jane, NHS No. 943 476 5919``: the person, with their NHS number."""
    row = _row(
        session,
        "SELECT family_name, given_name, title, nhs_number FROM patient WHERE id = :id",
        patient_id,
    )
    if row is None:
        return None
    name = patient_display_name(row.family_name, row.given_name, row.title)
    return f"{name}, NHS No. {format_nhs_number(row.nhs_number)}"


def _reference_words(session: Session, target: str, value: str) -> str:
    """The record an id points at, in words."""
    try:
        key = uuid.UUID(value).hex
    except ValueError:
        return value
    words = NOT_KNOWN
    if target in ("staff", ""):
        words = staff_words(session, key)  # an id with no reference: most often a person
    elif target == "patient":
        words = _person(session, key) or NOT_KNOWN
    elif target in _REFERENCES:
        sql, shown = _REFERENCES[target]
        row = _row(session, sql, key)
        words = shown(row) if row is not None else NOT_KNOWN
    else:
        words = _record_words(session, target, key)
    return words


_REFERENCES: dict[str, tuple[str, Callable[[Any], str]]] = {
    "practice": (
        "SELECT name FROM practice WHERE id = :id",
        lambda row: practice_display_name(row.name),
    ),
    "goal": (
        "SELECT description FROM goal WHERE id = :id",
        lambda row: f"Goal “{row.description}”",
    ),
    "meeting": (
        "SELECT starts_at FROM meeting WHERE id = :id",
        lambda row: f"Meeting of {_moment(str(row.starts_at))}",
    ),
}


def _patient_id_of(session: Session, entity: str, row_id: str) -> str | None:
    """The person a record belongs to, through its own patient or case reference."""
    if entity == "patient":
        return row_id
    column = _column(entity, "patient_id")
    if column is not None:
        row = _row(session, f'SELECT patient_id FROM "{entity}" WHERE id = :id', row_id)
        if row is not None and row.patient_id is not None:
            return str(row.patient_id)
    if _column(entity, "case_id") is not None:
        row = _row(
            session,
            f'SELECT c.patient_id FROM "{entity}" x JOIN care_case c ON c.id = x.case_id'
            " WHERE x.id = :id",
            row_id,
        )
        if row is not None:
            return str(row.patient_id)
    if entity == "care_case":
        row = _row(session, "SELECT patient_id FROM care_case WHERE id = :id", row_id)
        if row is not None:
            return str(row.patient_id)
    return None


def _record_words(session: Session, entity: str, row_id: str) -> str:
    """``Action of SMITH, Jane, NHS No. 943 476 5919``: the record and whose it is."""
    base = _ENTITY_WORDS.get(entity, entity.replace("_", " ").capitalize())
    patient_id = _patient_id_of(session, entity, row_id)
    person = _person(session, patient_id) if patient_id is not None else None
    if person is None:
        if entity == "staff":
            return f"{base} {staff_words(session, row_id)}"
        return base
    return person if entity == "patient" else f"{base} of {person}"


def _who(session: Session, by: str, *, where: tuple[str, str, str], at: str) -> str:
    """Who made a change: the hub gives a name (a label) or, for a signed-in person
    on an older desk, their staff id; an item made before either is looked up in
    this desk's journal. ``Not Known`` only when nothing says."""
    by = by.strip()
    if by:
        try:
            uuid.UUID(by)
        except ValueError:
            return by
        return staff_words(session, by)
    entity, row_id, field = where
    actor = session.execute(
        text(
            "SELECT t.actor_id, t.actor_label FROM journal_change c"
            " JOIN journal_tx t ON t.tx = c.tx"
            " WHERE c.entity = :entity AND c.row_id = :row AND c.field = :field"
            " AND t.recorded_at = :at ORDER BY c.origin_seq DESC LIMIT 1"
        ),
        {"entity": entity, "row": row_id, "field": field, "at": at},
    ).first()
    if actor is None:
        return NOT_KNOWN
    if actor.actor_id is not None:
        return staff_words(session, str(actor.actor_id))
    return str(actor.actor_label or NOT_KNOWN)


def _view(session: Session, item: ReviewItem) -> ReviewItemView:
    kept, other = _decoded(item.kept_value), _decoded(item.other_value)
    if item.kind == "coordinator":
        kept_text, other_text = (
            staff_words(session, str(value)) if value else NOT_KNOWN for value in (kept, other)
        )
    elif item.kind == "break_glass":
        # who opened the restricted items and why; raised for the coordinator named
        kept_text = item.detail
        other_text = staff_words(session, item.other_row_id) if item.other_row_id else ""
    elif item.kind == "edit_vs_delete" and item.entity == "staff":
        # the edit may be a PIN hash: say what happened, never the value
        kept_text = other_text = "(staff record details not shown)"
    elif _restricted_for_reader(session, item):
        # need-to-know: a clash in a restricted item's words says that it clashed only
        kept_text = other_text = RESTRICTED_TEXT
    else:
        kept_text = _value_words(session, item.entity, item.field, kept)
        other_text = _value_words(session, item.entity, item.field, other)
    where = (item.entity, item.row_id, item.field)
    return ReviewItemView(
        id=item.id,
        kind=item.kind,
        title=_KIND_TITLES.get(item.kind, "Needs review"),
        entity=item.entity,
        row_id=item.row_id,
        field=item.field,
        record_text=_record_words(session, item.entity, item.row_id),
        field_text=label(item.field) if item.field else "",
        kept_text=kept_text,
        kept_by=_who(session, item.kept_by, where=where, at=item.kept_at),
        kept_at_text=_moment(item.kept_at),
        kept_desk=item.kept_desk[:8],
        other_text=other_text,
        other_by=_who(session, item.other_by, where=where, at=item.other_at),
        other_at_text=_moment(item.other_at),
        other_desk=item.other_desk[:8],
        other_row_id=item.other_row_id,
        resolved=item.resolved_at is not None,
        resolution=item.resolution,
        kept_own_text=roles_words(item.detail) if item.kind == "role_clash" and item.detail else "",
    )


def list_open_items(session: Session) -> list[ReviewItemView]:
    """Open review items, oldest first."""
    items = session.scalars(
        select(ReviewItem)
        .where(ReviewItem.resolved_at.is_(None), ReviewItem.retired_at.is_(None))
        .order_by(ReviewItem.created_at, ReviewItem.id)
    ).all()
    return [_view(session, item) for item in items if _for_reader(session, item)]


def _restricted_for_reader(session: Session, item: ReviewItem) -> bool:
    """Whether the item's values are a restricted item's words the reader may not read."""
    # An "edited here, removed there" item names retired_at but carries the edit's value.
    edit_vs_delete = item.kind == "edit_vs_delete" and item.entity in CONTENT_FIELDS
    if item.field not in CONTENT_FIELDS.get(item.entity, ()) and not edit_vs_delete:
        return False
    row = _row(session, f'SELECT sensitive FROM "{item.entity}" WHERE id = :id', item.row_id)
    if row is None or not row.sensitive:
        return False
    patient_id = _patient_id_of(session, item.entity, item.row_id)
    return patient_id is None or not may_read_sensitive(session, uuid.UUID(patient_id))


def _for_reader(session: Session, item: ReviewItem) -> bool:
    """A break-glass item is the coordinator's it names (and a privacy officer's); every
    other item is the team's."""
    principal = principal_of(session)
    if item.kind != "break_glass":
        # Clashes over staff records are the administrator's; every other item shows a
        # person's record (names, notes, actions), so it needs a clinical reader.
        if item.entity in ("staff", "staff_practice_cover"):
            return principal.may_any(Permission.MANAGE_STAFF, Permission.READ_CLINICAL)
        return principal.may(Permission.READ_CLINICAL)
    if principal.may(Permission.READ_ACCESS_LOG):
        return True
    return principal.staff_id is not None and principal.staff_id.hex == item.other_row_id


def break_glass_items(session: Session) -> list[ReviewItemView]:
    """The open break-glass items for the acting coordinator (all, for a privacy officer)."""
    items = session.scalars(
        select(ReviewItem)
        .where(
            ReviewItem.kind == "break_glass",
            ReviewItem.resolved_at.is_(None),
            ReviewItem.retired_at.is_(None),
        )
        .order_by(ReviewItem.created_at, ReviewItem.id)
    ).all()
    return [_view(session, item) for item in items if _for_reader(session, item)]


def acknowledge_break_glass(session: Session, item_id: uuid.UUID) -> ReviewItemView:
    """The coordinator (or a privacy officer) has seen that the glass was broken.

    Not :func:`resolve`: acknowledging this is the named coordinator's to do, and a
    coordinator does not resolve sync conflicts.
    """
    item = session.get(ReviewItem, item_id)
    if item is None or item.retired_at is not None or item.kind != "break_glass":
        raise NotFoundError("That review item is not in this store.")
    if not _for_reader(session, item):
        principal_of(session).require(Permission.READ_ACCESS_LOG)
    if item.resolved_at is not None:
        raise RuleError("This item has already been acknowledged.")
    item.resolved_at = utc_now()
    item.resolution = Resolution.ACKNOWLEDGED.value
    item.resolved_by_id = principal_of(session).staff_id
    session.flush()
    return _view(session, item)


def _set_field(session: Session, entity: str, row_id: str, field: str, stored: Any) -> None:
    model = _TABLES.get(entity)
    if model is None or field not in model.__table__.columns or field == "id":
        raise RuleError("That record cannot be changed from the review list.")
    session.flush()
    # The stored form exactly as the journal holds it (a raw UPDATE, still journalled
    # by the table's trigger): no conversion can alter the value being restored.
    session.execute(
        text(f'UPDATE "{entity}" SET "{field}" = :value, updated_at = :now WHERE id = :id'),
        {
            "value": stored,
            "now": utc_now().replace(tzinfo=None).isoformat(sep=" "),
            "id": row_id,
        },
    )


@requires(Permission.RESOLVE_REVIEW, decide=review_permission)
def resolve(
    session: Session,
    item_id: uuid.UUID,
    resolution: Resolution,
    *,
    resolved_by_id: uuid.UUID | None,
    edited_value: str | None = None,
) -> ReviewItemView:
    """Decide a review item; the decision and any value chosen are journalled changes.

    Args:
        resolution: keep the value that stands, take the other one, save an edited
            value (``edited_value``, as typed), acknowledge (duplicates, coordinators),
            or restore a removed record.
    """
    item = session.get(ReviewItem, item_id)
    if item is None or item.retired_at is not None:
        raise NotFoundError("That review item is not in this store.")
    if item.resolved_at is not None:
        raise RuleError("This item has already been resolved.")
    value_kinds = ("same_field", "identity")
    if resolution in (Resolution.KEEP_OTHER, Resolution.EDITED) and item.kind not in value_kinds:
        raise RuleError("Choose one of the offered decisions for this item.")
    if resolution is Resolution.KEEP_OTHER:
        _set_field(session, item.entity, item.row_id, item.field, _decoded(item.other_value))
    elif resolution is Resolution.EDITED:
        model = _TABLES.get(item.entity)
        column = model.__table__.columns.get(item.field) if model is not None else None
        if (
            column is None
            or not isinstance(column.type, String | Text)
            or isinstance(column.type, Enum)
        ):
            raise RuleError(
                "This value is not free text: keep one of the two values here, then change "
                "it in the record if neither is right."
            )
        if edited_value is None or not edited_value.strip():
            raise ValidationError("Type the value to keep.", {"value": "Type the value to keep."})
        _set_field(session, item.entity, item.row_id, item.field, nfc(edited_value.strip()))
    elif resolution is Resolution.RESTORED:
        if item.kind != "edit_vs_delete":
            raise RuleError("Only a removed record can be restored.")
        _set_field(session, item.entity, item.row_id, "retired_at", None)
    item.resolved_at = utc_now()
    item.resolution = resolution.value
    item.resolved_by_id = resolved_by_id
    session.flush()
    return _view(session, item)
