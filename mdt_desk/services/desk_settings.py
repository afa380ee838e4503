"""This desk's own settings that a team administrator chooses: the idle lock.

The idle time is this desk's (``store_meta``, not synced): a desk on a ward may lock
sooner than one in a back office. The main window reads it when it opens and whenever
it changes (:func:`idle_lock_minutes`).
"""

from sqlalchemy import text
from sqlalchemy.orm import Session

from mdt_desk.errors import ValidationError
from mdt_desk.services.access import Permission, requires

#: The store_meta key (the same as ``mdt_desk.ui.idle_lock.IDLE_LOCK_META``).
IDLE_LOCK_META = "idle_lock_minutes"
DEFAULT_IDLE_MINUTES = 15
MIN_IDLE_MINUTES = 1
MAX_IDLE_MINUTES = 60


def idle_lock_minutes(session: Session) -> int:
    """How many idle minutes lock this desk (15 unless an administrator chose).

    Anyone may read it: the lock timer of whoever is signed in needs it.
    """
    value = session.execute(
        text("SELECT value FROM store_meta WHERE key = :k"), {"k": IDLE_LOCK_META}
    ).scalar_one_or_none()
    try:
        minutes = int(str(value).strip()) if value is not None else DEFAULT_IDLE_MINUTES
    except ValueError:
        return DEFAULT_IDLE_MINUTES
    return max(MIN_IDLE_MINUTES, min(MAX_IDLE_MINUTES, minutes))


@requires(Permission.HUB_SETTINGS)
def set_idle_lock_minutes(session: Session, minutes: int) -> str:
    """Lock this desk after ``minutes`` (1–60) with nobody using it; says what changed."""
    if not MIN_IDLE_MINUTES <= minutes <= MAX_IDLE_MINUTES:
        message = f"Choose between {MIN_IDLE_MINUTES} and {MAX_IDLE_MINUTES} minutes."
        raise ValidationError(message, {"idle_lock_minutes": message})
    session.execute(
        text(
            "INSERT INTO store_meta (key, value) VALUES (:k, :v)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        {"k": IDLE_LOCK_META, "v": str(minutes)},
    )
    unit = "minute" if minutes == 1 else "minutes"
    return f"This desk now locks after {minutes} {unit} with nobody using it."
