"""Drafts: text typed on this desk but not yet saved into the record.

A half-written note, goal, action, coordinator reason, closure note, correction or
referral reason is kept as a draft while it is typed, so that closing a record tab, the
window or the app, signing in as someone else, or a crash never loses it. Saving the
item discards its draft.

Drafts are this desk's working state, not the record: they live in the local ``draft``
table, are never journalled and never synced, and are written in a plain local
transaction (:meth:`~mdt_desk.models.store.Store.local_write`), never in a journalled
one. Reads take any session (:func:`load_draft`, :func:`case_drafts`); writes take the
store and open their own local transaction (:func:`save_draft`, :func:`discard_draft`).

**Drafts belong to the staff member who typed them.** Each is kept under its author's
id. When someone else signs in on the desk, the author's drafts are not shown to the
new person (nor offered to be saved under their name), but they are kept, and they come
back when the author signs in again. Two people may each have a draft for the same
field of the same record.

Keys name the field: ``note:<case id>``, ``goal:new:<case id>``,
``action:new:<case id>``, ``coordinator_reason:<case id>`` and so on (see
:func:`draft_key`). In the table the key is stored prefixed with the author's id.

A draft may keep, with its text, the other choices made beside it (``parts``: a new
note's or action's Sensitive tick, an action's owner and due date), so that they come
back with the text (hazard H97). They are stored in the same row as the text, in one
write: the body is then :data:`_PARTS_MARK` followed by JSON. A body without the mark
(every draft kept before parts existed) is plain text with no parts.
"""

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mdt_desk.models.base import utc_now
from mdt_desk.models.entities import Draft
from mdt_desk.models.store import Store

#: The kinds of field a draft is kept for, as used in keys.
NOTE = "note"
AMENDMENT = "amendment"
GOAL = "goal:new"
ACTION = "action:new"
COORDINATOR_REASON = "coordinator_reason"
REOPEN_REASON = "reopen_reason"
CLOSURE_NOTE = "closure_note"
REFERRAL_REASON = "referral_reason"
OUTCOME_SOURCE = "outcome_source:new"
#: Followed by the field (``name``, ``role``, ``organisation``, ``contact``).
CARE_TEAM_MEMBER = "care_team_member:new"

#: Room for the author prefix within the column's 200 characters.
MAX_KEY_LENGTH = 160
_NOBODY = "nobody"
#: Starts a body that holds parts as well as text (a character nobody types).
_PARTS_MARK = "\ue000mdt-draft/1\n"


@dataclass(frozen=True)
class DraftText:
    """A kept draft, as its author sees it."""

    key: str
    body: str
    case_id: uuid.UUID | None
    updated_at: dt.datetime
    #: Choices kept with the text, by name; empty for a draft kept without any.
    parts: Mapping[str, str] = field(default_factory=dict)


def draft_key(kind: str, subject: uuid.UUID | str) -> str:
    """The key of a field's draft: its kind and what it is about (e.g. the case id)."""
    return f"{kind}:{subject}"


def _stored_key(key: str, staff_id: uuid.UUID | None) -> str:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a draft key must have 1 to {MAX_KEY_LENGTH} characters")
    author = staff_id.hex if staff_id is not None else _NOBODY
    return f"{author}/{key}"


def _stored_body(body: str, parts: Mapping[str, str] | None) -> str:
    if not parts:
        return body
    return _PARTS_MARK + json.dumps({"text": body, "parts": dict(parts)})


def _read_body(stored: str) -> tuple[str, dict[str, str]]:
    """The text and parts of a stored body (plain text: no parts)."""
    if not stored.startswith(_PARTS_MARK):
        return stored, {}
    try:
        kept = json.loads(stored[len(_PARTS_MARK) :])
        text, parts = kept["text"], kept["parts"]
    except (ValueError, TypeError, KeyError):
        return stored, {}
    if not isinstance(text, str) or not isinstance(parts, dict):
        return stored, {}
    return text, {str(name): str(value) for name, value in parts.items()}


def _shown(row: Draft) -> DraftText:
    body, parts = _read_body(row.body)
    return DraftText(
        key=row.key.partition("/")[2],
        body=body,
        case_id=row.case_id,
        updated_at=row.updated_at,
        parts=parts,
    )


def save_draft(
    store: Store,
    key: str,
    body: str,
    *,
    staff_id: uuid.UUID | None,
    case_id: uuid.UUID | None,
    now: dt.datetime | None = None,
    parts: Mapping[str, str] | None = None,
) -> None:
    """Keep ``body`` as ``staff_id``'s draft of ``key``; an empty (or blank) body discards it.

    ``parts`` (choices made beside the text, by name) are kept with it and come back in
    :attr:`DraftText.parts`.
    """
    stored = _stored_key(key, staff_id)
    with store.local_write() as session:
        row = session.get(Draft, stored)
        if not body.strip():
            if row is not None:
                session.delete(row)
            return
        if row is None:
            row = Draft(key=stored, staff_id=staff_id, case_id=case_id, body="")
            session.add(row)
        row.body = _stored_body(body, parts)
        row.case_id = case_id
        row.updated_at = now or utc_now()


def load_draft(session: Session, key: str, *, staff_id: uuid.UUID | None) -> DraftText | None:
    """``staff_id``'s draft of ``key``, if one is kept (never anyone else's)."""
    row = session.get(Draft, _stored_key(key, staff_id))
    return _shown(row) if row is not None else None


def discard_draft(store: Store, key: str, *, staff_id: uuid.UUID | None) -> None:
    """Forget ``staff_id``'s draft of ``key`` (the item was saved, or the user said so)."""
    stored = _stored_key(key, staff_id)
    with store.local_write() as session:
        session.execute(delete(Draft).where(Draft.key == stored))


def case_drafts(
    session: Session, case_id: uuid.UUID, *, staff_id: uuid.UUID | None
) -> list[DraftText]:
    """``staff_id``'s drafts about one case, oldest first."""
    author = Draft.staff_id.is_(None) if staff_id is None else Draft.staff_id == staff_id
    rows = session.scalars(
        select(Draft).where(Draft.case_id == case_id, author).order_by(Draft.updated_at, Draft.key)
    ).all()
    return [_shown(row) for row in rows]
