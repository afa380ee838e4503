"""Record ids that must be the same on every desk.

Most ids are random UUIDv7s made on the desk. A practice, though, is imported from
the same NHS ODS file on many desks; deriving its id from its ODS code makes every
desk create the *same* record, so sync merges them field by field instead of
finding duplicates.
"""

import uuid

_PRACTICE_NAMESPACE = uuid.UUID("6f1f4b1e-2b9a-5c55-9a43-6d5444455350")
_COVER_NAMESPACE = uuid.UUID("0d8e7c2a-51a4-5b8e-8f0c-6d5444455351")


def practice_id_for(ods_code: str) -> uuid.UUID:
    """The id of the practice with this (upper-case) ODS code."""
    return uuid.uuid5(_PRACTICE_NAMESPACE, ods_code.upper())


def practice_cover_id_for(staff_id: uuid.UUID, practice_id: uuid.UUID) -> uuid.UUID:
    """The id of the row saying this staff member covers this practice."""
    return uuid.uuid5(_COVER_NAMESPACE, f"{staff_id}/{practice_id}")
