"""Reading the text files the imports take (ODS practice file, patient lists).

One place decides what "a file that cannot be read at all" means, so every import
refuses the same things with the same words: a missing file, a folder, a file that
cannot be opened, binary data, an empty file, text in an unknown encoding.
"""

from pathlib import Path

from mdt_desk.errors import ImportFileError

#: How much of the start of a file is looked at to tell text from binary data.
_SNIFF_BYTES = 4096
#: Control characters that turn up in real text files (tab, line breaks, form feed,
#: and the end-of-file mark some old Windows programs add).
_TEXT_CONTROLS = frozenset("\t\n\r\f\x1a")


def _looks_binary(text: str) -> bool:
    sample = text[:_SNIFF_BYTES]
    controls = sum(1 for char in sample if char < " " and char not in _TEXT_CONTROLS)
    return controls > len(sample) // 100


def read_text_file(path: Path, *, kind: str, replace_undecodable: bool = False) -> str:
    """The text of an import file: UTF-8 (with or without a BOM), else Windows-1252.

    Args:
        path: the file the user chose.
        kind: what the file should be, for messages: ``"a patient CSV file"``.
        replace_undecodable: read bytes that are not Windows-1252 either as U+FFFD
            instead of refusing the file.

    Raises:
        ImportFileError: the file is missing, a folder, unreadable, binary, empty or
            in an encoding MDT Desk cannot read.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(f"There is no file at {path}.") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path} is a folder, not {kind}.") from None
    except OSError as error:
        raise ImportFileError(f"{path} cannot be read: {error.strerror}.") from error
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise ImportFileError(f"{path} is not {kind} (it contains binary data).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Files saved by Excel and older NHS extracts are often Windows-1252.
        try:
            text = data.decode("cp1252", errors="replace" if replace_undecodable else "strict")
        except UnicodeDecodeError:
            raise ImportFileError(
                f"{path} is not {kind} MDT Desk can read: its text is neither UTF-8 nor "
                "Windows-1252. Save it again as 'CSV UTF-8'."
            ) from None
    if _looks_binary(text):
        raise ImportFileError(f"{path} is not {kind} (it contains binary data).")
    if not text.strip():
        raise ImportFileError(f"{path} is empty.")
    return text
