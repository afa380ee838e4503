"""What every MDT Desk document shares: fonts, styles, the page frame and the footer.

Every document is A4, set in DejaVu Sans (shipped in ``resources/fonts`` and embedded,
so any European name prints and the output does not depend on the host's fonts), and
deterministic: ``invariant=1`` and a creation date taken from the ``now`` the caller
gives, so the same inputs and time give byte-identical PDFs (golden tests, and a hash
in the print record that means something).

Each page carries a header (the document's title and CONFIDENTIAL) and a footer: whom
the document is about, "Page X of Y", who printed it and when, and the plan version.
Platypus does not know Y while it lays out pages, so :class:`_NumberedCanvas` keeps
each page's drawing until the end and draws the footers once the count is known.
"""

import datetime as dt
import io
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    HRFlowable,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from mdt_desk.errors import UserError
from mdt_desk.resources import resource_path
from mdt_desk.services.display import cui_time
from mdt_desk.services.text_safety import printable

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
_FONT_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf"}
_LONDON = ZoneInfo("Europe/London")
_MONTHS_LONG = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

#: High-contrast colours that stay distinct on a greyscale printer.
INK = colors.black
HEADING_INK = colors.HexColor("#003087")  # NHS dark blue
RULE = colors.HexColor("#425563")
HEADER_FILL = colors.HexColor("#D8DDE0")

MARGIN = 18 * mm


class DocumentFontError(UserError):
    """The font documents are printed in is missing or damaged."""


_fonts_ready = False


def ensure_fonts() -> None:
    """Register DejaVu Sans (regular and bold) with reportlab, once per process.

    Raises:
        DocumentFontError: a font file is missing or damaged; the message says to
            reinstall, since the fonts ship with MDT Desk.
    """
    global _fonts_ready  # noqa: PLW0603 - reportlab's font registry is process-wide too
    if _fonts_ready:
        return
    for name, filename in _FONT_FILES.items():
        try:
            path = resource_path("fonts", filename)
            pdfmetrics.registerFont(TTFont(name, str(path)))
        except (OSError, TTFError, ValueError, KeyError, AssertionError) as error:
            raise DocumentFontError(
                f"MDT Desk cannot print: its font {filename} is missing or damaged "
                f"({type(error).__name__}). Reinstall MDT Desk to restore it."
            ) from error
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )
    _fonts_ready = True


@dataclass(frozen=True)
class DocumentStyles:
    """Paragraph styles of one document; large print scales every one to 16 pt or more."""

    large_print: bool
    title: ParagraphStyle
    heading: ParagraphStyle
    subheading: ParagraphStyle
    body: ParagraphStyle
    body_bold: ParagraphStyle
    cell: ParagraphStyle
    cell_header: ParagraphStyle
    identity_name: ParagraphStyle
    footer_size: float

    @property
    def body_size(self) -> float:
        return float(self.body.fontSize)


def document_styles(*, large_print: bool = False, compact: bool = False) -> DocumentStyles:
    """The styles for a normal (11 pt body) or large-print (16 pt minimum) document.

    Args:
        compact: smaller table text for wide staff lists (caseload); ignored in large
            print, whose minimum is never lowered.

    Raises:
        DocumentFontError: the shipped fonts are missing or damaged (paragraphs look
            their font up as they are made, so the fonts are registered here).
    """
    ensure_fonts()
    body = 16.0 if large_print else (9.5 if compact else 11.0)
    cell = body if large_print or compact else 10.0
    leading = 1.3

    def style(name: str, size: float, *, bold: bool = False, **extra: Any) -> ParagraphStyle:
        return ParagraphStyle(
            name,
            fontName=FONT_BOLD if bold else FONT,
            fontSize=size,
            leading=round(size * leading, 1),
            textColor=extra.pop("textColor", INK),
            alignment=TA_LEFT,
            **extra,
        )

    return DocumentStyles(
        large_print=large_print,
        title=style("title", body * 1.8, bold=True, textColor=HEADING_INK, spaceAfter=body * 0.6),
        heading=style(
            "heading",
            body * 1.35,
            bold=True,
            textColor=HEADING_INK,
            spaceBefore=body * 1.1,
            spaceAfter=body * 0.4,
        ),
        subheading=style(
            "subheading",
            body * 1.1,
            bold=True,
            spaceBefore=body * 0.6,
            spaceAfter=body * 0.2,
            keepWithNext=1,
        ),
        body=style("body", body, spaceAfter=body * 0.35),
        body_bold=style("body_bold", body, bold=True, spaceAfter=body * 0.35),
        cell=style("cell", cell),
        cell_header=style("cell_header", cell, bold=True),
        identity_name=style("identity_name", body * 1.45, bold=True, spaceAfter=body * 0.3),
        footer_size=16.0 if large_print else 8.5,
    )


def text(value: str) -> str:
    """User text made safe inside a Paragraph (``&``, ``<`` would otherwise be markup;
    bidi overrides and zero-width characters would disguise a name, so they go)."""
    return escape(printable(value)).replace("\n", "<br/>")


def paragraph(value: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain user text."""
    return Paragraph(text(value), style)


def unbroken(value: str) -> str:
    """``value`` with no-break spaces, so a line never breaks inside it (an NHS number
    stays ``943 476 5919`` on one line, as the CUI asks)."""
    return value.replace(" ", "\u00a0")


_MONTH_WORDS = "|".join((*_MONTHS_LONG, *(month[:3] for month in _MONTHS_LONG), "Sept"))
# What a reader must see whole on one line: a long date (14 July 2027, 14 Jul 2027),
# "NHS 111", and runs of digit groups such as phone and NHS numbers (01843 555 010,
# +44 7700 900643, (01843) 555010, 943 476 5919).
_KEEP_TOGETHER = re.compile(
    rf"\b\d{{1,2}} (?:{_MONTH_WORDS}) \d{{4}}\b"
    r"|\bNHS 111\b"
    # (a number followed by a month name starts a date, not more of a phone number)
    rf"|(?<![\w(+])(?:\+|\()?\d+\)?(?: \(?\d+\)?(?! (?:{_MONTH_WORDS})\b))+(?![\w)])"
)


def keep_together(value: str) -> str:
    """``value`` with no-break spaces inside long dates, phone numbers and NHS numbers,
    so a line wraps around them and never through them.

    A run of digit groups is read as numbers of ten or more digits each (a UK phone
    number has 10 or 11, an NHS number 10), so "01843 555 010 01843 555 020" is two
    numbers that a line may wrap between. Groups with fewer than seven digits in all
    ("2 or 3 times", "10 20 30") are left alone.
    """

    def number(groups: list[str]) -> str:
        found = " ".join(groups)
        if found[0] in "+(" or sum(c.isdigit() for c in found) >= 7:
            return unbroken(found)
        return found

    def glue(match: re.Match[str]) -> str:
        found = match.group(0)
        if re.search(r"[A-Za-z]", found):  # a date, or NHS 111
            return unbroken(found)
        numbers: list[list[str]] = [[]]
        digits = 0
        for group in found.split(" "):
            if digits >= 10:
                numbers.append([])
                digits = 0
            numbers[-1].append(group)
            digits += sum(c.isdigit() for c in group)
        return " ".join(number(groups) for groups in numbers)

    return _KEEP_TOGETHER.sub(glue, value)


#: The most a heading keeps room for below it (a third of a page's body).
_LARGEST_START = (A4[1] - 2 * MARGIN) / 3


class _Heading(Paragraph):
    """A section heading that moves to the next page unless a few lines fit below it.

    Platypus's ``keepWithNext`` would instead keep the heading with the *whole* next
    flowable, pushing a table that could start here onto the next page and leaving
    half a page blank.
    """

    def __init__(self, value: str, style: ParagraphStyle, room_below: float) -> None:
        super().__init__(text(value), style)
        self._room_below = room_below
        #: what starts right below: a table, a boxed block kept whole, or a subheading
        #: (set by :func:`render`)
        self.below: Table | KeepTogether | _Heading | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        width, height = super().wrap(availWidth, availHeight)
        if height + self._needed_below(availWidth) > availHeight:
            return width, availHeight + 1  # does not fit: the frame moves on
        return width, height

    def _needed_below(self, avail_width: float) -> float:
        """Four lines, or more if what follows cannot start in less: a table splits only
        between rows, so it needs its header and first row; a boxed block moves whole; a
        subheading needs itself and the room it keeps in turn. With less room, that would
        start on the next page and leave this heading alone at the foot of the page.
        Something taller than a good part of a page splits inside (or starts a page of
        its own) anyway: then four lines."""
        if self.below is None:
            return self._room_below
        if isinstance(self.below, _Heading):
            below = self.below
            _width, height = Paragraph.wrap(below, avail_width, 1e9)
            start = below.style.spaceBefore + height + below._needed_below(avail_width)
        elif isinstance(self.below, Table):
            self.below.wrap(avail_width, 1e9)
            # Platypus keeps the row heights it measured only as this private list.
            rows: list[float] = list(getattr(self.below, "_rowHeights", None) or [])
            start = sum(rows[:2])
        else:
            # A KeepTogether cannot be measured before it is on a canvas: its content can.
            content: list[Flowable] = list(getattr(self.below, "_content", None) or [])
            start = sum(part.wrap(avail_width, 1e9)[1] for part in content)
        start += self.style.spaceAfter
        if start > _LARGEST_START:
            return self._room_below
        return max(self._room_below, start)

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        return []  # never split a heading: it moves whole


def _four_lines(styles: DocumentStyles) -> float:
    return styles.body_size * 1.3 * 4


def heading(value: str, styles: DocumentStyles) -> Paragraph:
    """A section heading kept with the start of what follows (at least four lines)."""
    return _Heading(value, styles.heading, _four_lines(styles))


def subheading(value: str, styles: DocumentStyles) -> Paragraph:
    """A heading within a section, kept with at least four lines of what follows."""
    # Not the style's keepWithNext, which would carry a whole table to the next page.
    style = ParagraphStyle("subheading_kept", parent=styles.subheading, keepWithNext=0)
    return _Heading(value, style, _four_lines(styles))


def markup(value: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of our own markup (``<b>``), with any user text already escaped."""
    return Paragraph(printable(value), style)


def long_date(value: dt.date) -> str:
    """``14 July 2026``: the long form ux.md asks for in what the person reads."""
    return f"{value.day} {_MONTHS_LONG[value.month - 1]} {value.year}"


def london_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(_LONDON).date()


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str | Flowable]],
    widths: Sequence[float],
    styles: DocumentStyles,
    *,
    split_in_row: float = 0,
) -> Table:
    """A table that splits between rows and repeats its header row on every page.

    Cells are Paragraphs so long text wraps inside its column instead of running off
    the page; strings are treated as plain user text.

    Args:
        split_in_row: if more than 0, a row that fits on no page (a very long
            description) may break inside itself, leaving at least this height on
            each page; otherwise such a row cannot be laid out at all.
    """
    data: list[list[Flowable]] = [[paragraph(title, styles.cell_header) for title in header]]
    for row in rows:
        data.append(
            [cell if isinstance(cell, Flowable) else paragraph(cell, styles.cell) for cell in row]
        )
    padding = 4 if styles.large_print else 3
    result = Table(
        data,
        colWidths=list(widths),
        repeatRows=1,
        splitByRow=1,
        splitInRow=split_in_row,
        hAlign="LEFT",
    )
    result.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("LINEBELOW", (0, 0), (-1, 0), 1, RULE),
                ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), padding),
                ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
                ("LEFTPADDING", (0, 0), (-1, -1), padding + 1),
                ("RIGHTPADDING", (0, 0), (-1, -1), padding + 1),
            ]
        )
    )
    return result


def _split_in_row(styles: DocumentStyles) -> float:
    """A row taller than a page breaks inside itself, three lines at least each side."""
    return float(styles.cell.leading) * 3


def _cell_padding(styles: DocumentStyles) -> float:
    """Left plus right padding of a :func:`table` cell."""
    return 2 * ((4 if styles.large_print else 3) + 1)


def _words(value: str) -> list[str]:
    """The pieces a Paragraph may break a line between: it breaks at spaces and line
    breaks only, never at a no-break space (nor at a hyphen: no hyphenation is set)."""
    return [word for word in re.split(r"[ \t\r\n]+", value) if word]


def _text_widths(value: str, font: str, size: float) -> tuple[float, float]:
    """The widest unbreakable piece of ``value`` and its widest line unwrapped."""
    widest_word = max((pdfmetrics.stringWidth(w, font, size) for w in _words(value)), default=0)
    widest_line = max(
        (pdfmetrics.stringWidth(" ".join(_words(line)), font, size) for line in value.split("\n")),
        default=0,
    )
    return widest_word, widest_line


def fitted_widths(
    header: Sequence[str], rows: Sequence[Sequence[str]], styles: DocumentStyles, width: float
) -> list[float] | None:
    """Column widths sized from the content, or ``None`` if it does not fit in ``width``.

    Every column is at least as wide as its widest unbreakable piece (a word, a date, an
    NHS or phone number), so a line never breaks inside one. A column of short values
    (a name, a date, "To do": at most twelve ems on one line) gets its whole width, so
    each value reads on one line; a column of longer text gets at least eight ems to
    wrap in, then up to twelve, then up to its longest line; what is left spreads so
    the table spans the page. A table that cannot have that does not fit: ``None``,
    and the caller lays its rows out another way (large print, long names).
    """
    padding = _cell_padding(styles) + 0.5  # the half point absorbs rounding in reportlab
    size = float(styles.cell.fontSize)
    least: list[float] = []
    most: list[float] = []
    for column, title in enumerate(header):
        word, line = _text_widths(title, FONT_BOLD, float(styles.cell_header.fontSize))
        for row in rows:
            cell_word, cell_line = _text_widths(row[column], FONT, size)
            word, line = max(word, cell_word), max(line, cell_line)
        least.append(word + padding)
        most.append(max(line, word) + padding)
    short, measure = 12 * size, 8 * size
    widths = [
        high if high <= short else max(low, measure) for low, high in zip(least, most, strict=True)
    ]
    if sum(widths) > width:
        return None
    for target in (
        [max(now, min(high, short)) for now, high in zip(widths, most, strict=True)],
        most,
    ):
        wanting = sum(goal - now for goal, now in zip(target, widths, strict=True))
        spare = width - sum(widths)
        if wanting > 0 and spare > 0:
            grant = min(1.0, spare / wanting)
            widths = [now + (goal - now) * grant for goal, now in zip(target, widths, strict=True)]
    spare = width - sum(widths)
    return [now + spare * now / sum(widths) for now in widths]


def _stacked_rows(
    header: Sequence[str], rows: Sequence[Sequence[str]], styles: DocumentStyles, width: float
) -> list[Flowable]:
    """Each row as a block of "label: value" lines, boxed like a table row.

    Used where the columns cannot all fit side by side without breaking a word. The
    cells are already kept together (:func:`keep_together`). A block too tall to sit
    on one page (a very long description) is drawn between two rules instead of in a
    box, so it flows on to the next page as ordinary lines.
    """
    padding = 4 if styles.large_print else 3
    line_style = ParagraphStyle(
        "stacked",
        parent=styles.cell,
        leftIndent=styles.body_size,
        firstLineIndent=-styles.body_size,
    )
    gap = styles.body_size * 0.4
    page = (A4[1] - 2 * MARGIN) * 0.6
    blocks: list[Flowable] = []
    for row in rows:
        lines: list[Flowable] = [
            Paragraph(f"<b>{text(label)}:</b> {text(value)}", line_style)
            for label, value in zip(header, row, strict=True)
            if value.strip()
        ]
        block = Table([[line] for line in lines], colWidths=[width], hAlign="LEFT")
        block.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                    ("TOPPADDING", (0, 0), (-1, 0), padding + 1),
                    ("BOTTOMPADDING", (0, -1), (-1, -1), padding + 1),
                    ("LEFTPADDING", (0, 0), (-1, -1), padding + 4),
                    ("RIGHTPADDING", (0, 0), (-1, -1), padding + 1),
                ]
            )
        )
        if block.wrap(width, A4[1])[1] <= page:
            blocks += [KeepTogether([block]), Spacer(1, gap)]
            continue
        # reportlab draws a table row split across pages without its box and padding
        rule = HRFlowable(width="100%", thickness=0.6, color=RULE, spaceBefore=0)
        blocks += [rule, Spacer(1, padding), *lines, Spacer(1, padding), rule, Spacer(1, gap)]
    return blocks


def fitted_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    styles: DocumentStyles,
    *,
    width: float | None = None,
) -> list[Flowable]:
    """A :func:`table` of plain user text whose columns are sized from their content.

    Dates, NHS and phone numbers are kept whole (:func:`keep_together`), and no column
    is narrower than its widest word, so no line breaks inside a word or a number.
    Where the columns cannot fit side by side at this size (large print, long names
    or email addresses), each row is laid out instead as a block of "label: value"
    lines across the full width.
    """
    width = usable_width() if width is None else width
    kept = [[keep_together(cell) for cell in row] for row in rows]
    widths = fitted_widths(header, kept, styles, width)
    if widths is None:
        return _stacked_rows(header, kept, styles, width)
    return [table(header, kept, widths, styles, split_in_row=_split_in_row(styles))]


def spacer(styles: DocumentStyles, lines: float = 0.5) -> Spacer:
    return Spacer(1, styles.body_size * lines)


@dataclass(frozen=True)
class PageFrame:
    """The fixed text of every page.

    Args:
        title: the document's name, at the top of each page ("My care plan").
        subject: whom or what it is about, in the footer: the person's name and NHS
            number, or the meeting's title (never a patient's name on an
            initials-only agenda).
        printed_by: the name of the staff member printing.
        printed_at: when (timezone-aware); also the PDF's creation date.
        plan_version: the plan version, for a care plan.
    """

    title: str
    subject: str
    printed_by: str
    printed_at: dt.datetime
    plan_version: str = ""
    landscape: bool = False
    extra_lines: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        # Printed on every page and kept in the PDF's metadata: no invisible controls.
        for name in ("title", "subject", "printed_by"):
            object.__setattr__(self, name, printable(getattr(self, name)))
        object.__setattr__(self, "extra_lines", tuple(map(printable, self.extra_lines)))

    def printed_line(self) -> str:
        when = unbroken(cui_time(self.printed_at))
        line = f"Printed by {self.printed_by or 'Not recorded'} on {when}"
        if self.plan_version:
            # Wrapped, the dot stays at the end of a line and "Plan version N" stays whole.
            line += f"\u00a0· {unbroken('Plan version ' + self.plan_version)}"
        return line


@dataclass(frozen=True)
class RenderedPdf:
    """A finished PDF and how many pages it has."""

    content: bytes
    pages: int


def _pdf_date(moment: dt.datetime) -> Callable[..., str]:
    utc = moment.astimezone(dt.UTC)
    stamp = f"D:{utc:%Y%m%d%H%M%S}+00'00'"

    def formatter(*_parts: int) -> str:
        return stamp

    return formatter


def _canvas_class(frame: PageFrame, styles: DocumentStyles, counted: list[int]) -> type[Canvas]:
    size = styles.footer_size
    leading = size * 1.25

    class _NumberedCanvas(Canvas):
        """Holds every page until the end, then draws header and footer with the count."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held_pages: list[dict[str, Any]] = []
            self.setDateFormatter(_pdf_date(frame.printed_at))
            self.setAuthor(frame.printed_by)
            self.setTitle(frame.title)
            self.setCreator("MDT Desk")

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._held_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held_pages)
            counted.append(total)
            for number, state in enumerate(self._held_pages, start=1):
                self.__dict__.update(state)
                self._draw_furniture(number, total)
                super().showPage()
            super().save()

        def _draw_furniture(self, number: int, total: int) -> None:
            width, height = self._pagesize
            usable = width - 2 * MARGIN
            self.saveState()
            self.setFillColor(INK)
            # Header: the title on the left, CONFIDENTIAL on the right, a rule below.
            top = height - MARGIN + leading * 0.4
            self.setFont(FONT_BOLD, size)
            self.drawRightString(width - MARGIN, top, "CONFIDENTIAL")
            self.setFont(FONT, size)
            self.drawString(MARGIN, top, frame.title)
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(MARGIN, top - leading * 0.35, width - MARGIN, top - leading * 0.35)
            # Footer: the lines wrapped to the width, "Page X of Y" on the first line.
            page_text = f"Page {number} of {total}"
            page_width = pdfmetrics.stringWidth(page_text, FONT_BOLD, size)
            lines = _footer_lines(frame, size, usable - page_width - 4 * mm)
            # Lines run down from just below the frame, ending above the page margin.
            y = MARGIN + leading * (len(lines) - 1)
            self.line(MARGIN, y + leading * 0.9, width - MARGIN, y + leading * 0.9)
            self.setFont(FONT_BOLD, size)
            self.drawRightString(width - MARGIN, y, page_text)
            for index, (line, bold) in enumerate(lines):
                self.setFont(FONT_BOLD if bold else FONT, size)
                self.drawString(MARGIN, y - index * leading, line)
            self.restoreState()

    return _NumberedCanvas


def _footer_lines(frame: PageFrame, size: float, width: float) -> list[tuple[str, bool]]:
    lines: list[tuple[str, bool]] = []
    for content, bold in (
        (frame.subject, True),
        (frame.printed_line(), False),
        *((line, False) for line in frame.extra_lines),
    ):
        lines.extend(
            (piece, bold) for piece in _wrap(content, FONT_BOLD if bold else FONT, size, width)
        )
    return lines


def _wrap(value: str, font: str, size: float, width: float) -> list[str]:
    """Greedy wrap at ordinary spaces only (reportlab's simpleSplit also breaks at
    no-break spaces, which would split an NHS number)."""
    lines: list[str] = []
    current = ""
    for word in value.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and pdfmetrics.stringWidth(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def render(story: list[Flowable], frame: PageFrame, styles: DocumentStyles) -> RenderedPdf:
    """Lay out ``story`` on A4 pages with the header and footer of ``frame``.

    Raises:
        DocumentFontError: the shipped fonts are missing or damaged.
    """
    ensure_fonts()
    for flowable, following in itertools.pairwise(story):
        if isinstance(flowable, _Heading) and isinstance(
            following, Table | KeepTogether | _Heading
        ):
            flowable.below = following
    pagesize = landscape(A4) if frame.landscape else A4
    width, height = pagesize
    size = styles.footer_size
    leading = size * 1.25
    page_width = pdfmetrics.stringWidth("Page 999 of 999", FONT_BOLD, size)
    footer_lines = len(_footer_lines(frame, size, width - 2 * MARGIN - page_width - 4 * mm))
    bottom = MARGIN + leading * (footer_lines + 0.8)
    top = MARGIN + leading * 1.5
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=top,
        bottomMargin=bottom,
        title=frame.title,
        author=frame.printed_by,
        creator="MDT Desk",
        invariant=1,
        lang="en-GB",
        initialFontName=FONT,
    )
    body = Frame(
        MARGIN, bottom, width - 2 * MARGIN, height - top - bottom, id="body", showBoundary=0
    )
    document.addPageTemplates([PageTemplate(id="page", frames=[body])])
    counted: list[int] = []
    document.build(story, canvasmaker=_canvas_class(frame, styles, counted))
    return RenderedPdf(content=buffer.getvalue(), pages=counted[-1] if counted else 0)


def usable_width(*, is_landscape: bool = False) -> float:
    """The width between the margins, for sizing table columns."""
    width = landscape(A4)[0] if is_landscape else A4[0]
    return float(width - 2 * MARGIN)
