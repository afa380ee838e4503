"""Text that looks like other text: Unicode normalisation and invisible characters.

Two names can look identical on screen and differ underneath: "Zoë" typed as one
character or as "o" plus a combining diaeresis, or a name carrying a right-to-left
override (U+202E) or a zero-width space, which makes it display as something else
or sort and search as a different person. So:

- every name and free text is normalised to Unicode NFC before it is kept (and a
  search is normalised the same way), so one spelling is one string;
- the bidirectional controls and zero-width characters below are refused in the
  names of patients and staff, with a message saying what was found;
- documents strip them (and the bidi marks) from everything they print, for records
  that predate this rule or came from elsewhere.
"""

import unicodedata

from mdt_desk.errors import ValidationError

#: Embeddings, overrides and isolates: U+202A–U+202E and U+2066–U+2069.
BIDI_CONTROLS = frozenset(chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
#: Zero-width space, non-joiner, joiner, word joiner, and the byte-order mark (a
#: zero-width no-break space inside text).
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
#: Refused in the names of patients and staff.
UNSAFE_IN_NAMES = BIDI_CONTROLS | ZERO_WIDTH
#: Never printed: the above and the invisible bidi marks (LRM, RLM, ALM).
INVISIBLE = UNSAFE_IN_NAMES | frozenset("\u200e\u200f\u061c")

_STRIP_INVISIBLE = {ord(character): None for character in INVISIBLE}


def nfc(value: str) -> str:
    """``value`` in Unicode normal form C (composed: "ë" is one character)."""
    if value.isascii():
        return value
    return unicodedata.normalize("NFC", value)


def describe_character(character: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: how a message names an invisible character."""
    name = unicodedata.name(character, "UNNAMED CHARACTER")
    return f"U+{ord(character):04X} {name}"


def unsafe_characters(value: str) -> list[str]:
    """The refused characters in ``value``, each once, in order of appearance."""
    return list(dict.fromkeys(character for character in value if character in UNSAFE_IN_NAMES))


def check_name(value: str, field: str, label: str) -> str:
    """A name part stripped and in NFC; refuse invisible characters that disguise it.

    Args:
        value: the name as typed or imported.
        field: the form field, for the message next to it.
        label: the field in words ("family name").

    Raises:
        ValidationError: the name holds a bidirectional control or a zero-width
            character, named in the message.
    """
    cleaned = nfc((value or "").strip())
    found = unsafe_characters(cleaned)
    if found:
        names = ", ".join(describe_character(character) for character in found)
        message = (
            f"The {label} contains an invisible character ({names}) that can make one name "
            "look like another. Retype the name rather than pasting it."
        )
        raise ValidationError(message, {field: message})
    return cleaned


def printable(value: str) -> str:
    """``value`` for a document: NFC, with every invisible control removed."""
    return nfc(value.translate(_STRIP_INVISIBLE))
