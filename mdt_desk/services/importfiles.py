"""Reading the text files the imports take (ODS practice file, patient lists).

One place decides what "a file that cannot be read at all" means, so every import
refuses the same things with the same words: a missing file, a folder, a file that
cannot be opened, binary data, an empty file, text in an unknown encoding.
"""

import codecs
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TextIO

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


#: Share of two-byte pairs with exactly one NUL, on the same side, that marks UTF-16
#: text without a byte-order mark (ASCII letters in UTF-16 are a letter and a NUL).
_UTF16_PAIRS = 0.75


def _looks_utf16(head: bytes) -> bool:
    """Whether ``head`` (the start of a file) is UTF-16 text, with or without a BOM."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    pairs = len(head) // 2
    if pairs < 2:
        return False
    odd_nul = sum(1 for i in range(pairs) if head[2 * i] != 0 and head[2 * i + 1] == 0)
    even_nul = sum(1 for i in range(pairs) if head[2 * i] == 0 and head[2 * i + 1] != 0)
    return max(odd_nul, even_nul) >= pairs * _UTF16_PAIRS


def _refuse_utf16(path: Path, head: bytes) -> None:
    """Excel's "Unicode text" is UTF-16: say so, and how to save it, not "binary data"."""
    if _looks_utf16(head):
        raise ImportFileError(
            f"{path} is saved as UTF-16 (Excel's 'Unicode text'), which MDT Desk does not "
            "read. Save it again as 'CSV UTF-8' (in Excel: File, Save As, 'CSV UTF-8 (Comma "
            "delimited)') and import that file."
        )


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
    _refuse_utf16(path, data[:_SNIFF_BYTES])
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


#: Files up to this size are read whole by :func:`read_text_file` (same checks, same
#: words); larger ones are checked and read a block at a time.
_WHOLE_FILE_BYTES = 4 * 1024 * 1024
_BLOCK_BYTES = 1024 * 1024


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read from it (for progress)."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


class StreamedTextFile:
    """An import file checked like :func:`read_text_file`, then read a block at a time.

    Memory stays bounded whatever the file's size. ``open()`` may be called more than
    once; :attr:`bytes_read` tells how far the latest reader has got (for progress).
    """

    def __init__(self, path: Path, *, kind: str) -> None:
        self.path = path
        try:
            self.size = path.stat().st_size
        except FileNotFoundError:
            raise ImportFileError(f"There is no file at {path}.") from None
        except OSError as error:
            raise ImportFileError(f"{path} cannot be read: {error.strerror}.") from error
        self._text: str | None = None
        self._encoding = "utf-8-sig"
        self._counter: _CountingReader | None = None
        self._memory: io.StringIO | None = None
        if path.is_dir() or self.size <= _WHOLE_FILE_BYTES:
            self._text = read_text_file(path, kind=kind)
        else:
            self._encoding = _check_large_file(path, kind)

    @property
    def bytes_read(self) -> int:
        if self._memory is not None and self._text:
            return self._memory.tell() * self.size // len(self._text)
        return self._counter.count if self._counter is not None else 0

    @contextmanager
    def open(self) -> Iterator[TextIO]:
        """The text, for ``csv.reader`` (newlines are left as they are)."""
        if self._text is not None:
            self._memory = io.StringIO(self._text, newline="")
            yield self._memory
            return
        try:
            raw = self.path.open("rb")
        except OSError as error:
            raise ImportFileError(f"{self.path} cannot be read: {error.strerror}.") from error
        self._counter = _CountingReader(raw)
        with io.TextIOWrapper(
            io.BufferedReader(self._counter, _BLOCK_BYTES), encoding=self._encoding, newline=""
        ) as text:
            yield text


def _check_large_file(path: Path, kind: str) -> str:
    """The codec to read a large import file with, after the checks of :func:`read_text_file`."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as error:
        raise ImportFileError(f"{path} cannot be read: {error.strerror}.") from error
    _refuse_utf16(path, head)
    if b"\x00" in head:
        raise ImportFileError(f"{path} is not {kind} (it contains binary data).")
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        start = ""
        blank = True
        try:
            with path.open("rb") as handle:
                while block := handle.read(_BLOCK_BYTES):
                    chunk = decoder.decode(block)
                    if len(start) < _SNIFF_BYTES:
                        start += chunk[:_SNIFF_BYTES]
                    blank = blank and not chunk.strip()
                chunk = decoder.decode(b"", final=True)
                blank = blank and not chunk.strip()
        except UnicodeDecodeError:
            continue
        except OSError as error:
            raise ImportFileError(f"{path} cannot be read: {error.strerror}.") from error
        if _looks_binary(start):
            raise ImportFileError(f"{path} is not {kind} (it contains binary data).")
        if blank:
            raise ImportFileError(f"{path} is empty.")
        return encoding
    raise ImportFileError(
        f"{path} is not {kind} MDT Desk can read: its text is neither UTF-8 nor "
        "Windows-1252. Save it again as 'CSV UTF-8'."
    )
