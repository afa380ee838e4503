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
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, String, Text, select, text
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, RuleError, ValidationError
from mdt_desk.models import SYNCED_MODELS, ReviewItem
from mdt_desk.models.base import utc_now
from mdt_desk.services.display import cui_date, cui_time, label

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

    @property
    def summary(self) -> str:
        if self.kind == "duplicate":
            return f"{self.record_text}: the same NHS number as another person"
        if self.kind == "coordinator":
            return f"{self.record_text}: {self.kept_text} and {self.other_text}"
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
    if value is None:
        return "(empty)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    text_value = str(value)
    if len(text_value) == 10 and text_value[4] == "-" and text_value[7] == "-":
        try:
            return cui_date(dt.date.fromisoformat(text_value))
        except ValueError:
            return text_value
    return label(text_value) if text_value.islower() and "_" in text_value else text_value


def _when(value: str) -> str:
    try:
        return cui_time(dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC))
    except ValueError:
        return value


def _record_words(session: Session, entity: str, row_id: str) -> str:
    base = _ENTITY_WORDS.get(entity, entity.replace("_", " ").capitalize())
    if entity == "patient":
        row = session.execute(
            text("SELECT family_name, given_name FROM patient WHERE id = :id"), {"id": row_id}
        ).first()
        if row is not None:
            return f"{row.family_name.upper()}, {row.given_name}"
    if entity in ("care_case", "action", "goal"):
        row = session.execute(
            text(
                "SELECT p.family_name, p.given_name FROM patient p JOIN care_case c"
                " ON c.patient_id = p.id WHERE c.id = :id"
                if entity == "care_case"
                else f'SELECT p.family_name, p.given_name FROM "{entity}" x JOIN care_case c'
                " ON c.id = x.case_id JOIN patient p ON p.id = c.patient_id WHERE x.id = :id"
            ),
            {"id": row_id},
        ).first()
        if row is not None:
            return f"{base} of {row.family_name.upper()}, {row.given_name}"
    return base


def _view(session: Session, item: ReviewItem) -> ReviewItemView:
    kept, other = _decoded(item.kept_value), _decoded(item.other_value)
    if item.kind == "coordinator":
        names = []
        for value in (kept, other):
            row = session.execute(
                text("SELECT given_name, family_name FROM staff WHERE id = :id"), {"id": value}
            ).first()
            names.append(f"{row.given_name} {row.family_name}" if row else "Not Known")
        kept_text, other_text = names
    else:
        kept_text, other_text = _words(kept), _words(other)
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
        kept_by=item.kept_by or "Not Known",
        kept_at_text=_when(item.kept_at),
        kept_desk=item.kept_desk[:8],
        other_text=other_text,
        other_by=item.other_by or "Not Known",
        other_at_text=_when(item.other_at),
        other_desk=item.other_desk[:8],
        other_row_id=item.other_row_id,
        resolved=item.resolved_at is not None,
        resolution=item.resolution,
    )


def list_open_items(session: Session) -> list[ReviewItemView]:
    """Open review items, oldest first."""
    items = session.scalars(
        select(ReviewItem)
        .where(ReviewItem.resolved_at.is_(None), ReviewItem.retired_at.is_(None))
        .order_by(ReviewItem.created_at, ReviewItem.id)
    ).all()
    return [_view(session, item) for item in items]


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
        _set_field(session, item.entity, item.row_id, item.field, edited_value.strip())
    elif resolution is Resolution.RESTORED:
        if item.kind != "edit_vs_delete":
            raise RuleError("Only a removed record can be restored.")
        _set_field(session, item.entity, item.row_id, "retired_at", None)
    item.resolved_at = utc_now()
    item.resolution = resolution.value
    item.resolved_by_id = resolved_by_id
    session.flush()
    return _view(session, item)
