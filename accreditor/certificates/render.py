"""Drawing the schedule of accreditation and the certificate with fpdf2 (A4, bundled DejaVu).

The layout (``layout.py``) decides the words and columns; this module places them. Tables are
drawn row by row with their heading repeated at the top of every page; a row that does not fit
in what is left of a page starts the next page whole (never cut mid-row); a discipline heading
is kept with the row after it. Text is wrapped here with word widths measured once per font and
size (fpdf2's ``multi_cell`` measures each line again per character: too slow at 2,000 lines).
Every page carries the compact header (number, CAB, issue) and the footer "Issue No n · date ·
Page n of m" with the AB's name.

With ``record=True`` the document keeps what it wrote — each text run with its page, where each
table row was placed, which pages repeated a table heading, the QR payload — so tests check the
output without a PDF reader.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import segno
from flask import current_app
from flask_babel import gettext as _
from fpdf import FPDF

from accreditor.certificates.layout import (
    CertificateLayout,
    Row,
    ScheduleLayout,
    Table,
)
from accreditor.core.pdftext import PT, MeasuredText

FONT = "DejaVu"
MARGIN = 15.0
BOTTOM = 16.0  # room kept for the footer
COMPRESS = True
@dataclass
class Recorded:
    texts: list[tuple[int, str]] = field(default_factory=list)
    rows: list[tuple[int, float, float, Row]] = field(default_factory=list)
    table_heads: list[tuple[int, str]] = field(default_factory=list)
    qr: str | None = None
    qr_modules: int = 0

    def text_on(self, page: int) -> str:
        return "\n".join(t for p, t in self.texts if p == page)

    @property
    def all_text(self) -> str:
        return "\n".join(t for _p, t in self.texts)


class Base(MeasuredText, FPDF):
    """A4 portrait with the bundled fonts, measured wrapping and the shared footer."""

    FOOTER_Y = 12.0  # from the bottom edge

    def __init__(self, *, ab_name: str, footer: str, title: str, record: bool = False):
        super().__init__(orientation="P", unit="mm", format="A4")
        fonts = Path(current_app.static_folder or "static") / "fonts"
        self.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.ab_name, self.footer_text = ab_name, footer
        self.recorded = Recorded() if record else None
        self._widths: dict[tuple[str, float, str], float] = {}
        self.set_margins(MARGIN, 30, MARGIN)
        self.set_auto_page_break(False)
        self.set_compression(COMPRESS)
        self.set_title(title)
        self.set_author(ab_name)
        self.set_creator("Accreditor")
        self.alias_nb_pages()
        self.set_font(FONT, size=9)

    @property
    def bottom(self) -> float:
        return self.h - BOTTOM

    # text

    def put(self, x: float, y: float, text: str) -> None:
        """Write one line (``y`` = baseline) and, when recording, remember it."""
        if not text:
            return
        self.text(x, y, text)
        if self.recorded is not None:
            self.recorded.texts.append((self.page_no(), text))

    def line_height(self) -> float:
        return self.font_size_pt * PT * 1.3

    def paragraph(self, text: str, *, size: float = 9, bold: bool = False,
                  align: str = "L", x: float | None = None, width: float | None = None) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        x = self.l_margin if x is None else x
        width = self.epw if width is None else width
        lh = self.line_height()
        for line in self.wrap(text, width):
            if self.get_y() + lh > self.bottom:
                self.add_page()
            w = self.width_of(line)
            left = x + (width - w) / 2 if align == "C" else x
            self.put(left, self.get_y() + lh * 0.75, line)
            self.set_y(self.get_y() + lh)

    def footer(self) -> None:
        self.set_font(FONT, "", 7.5)
        self.set_text_color(80)
        self.set_draw_color(160)
        y = self.h - self.FOOTER_Y
        self.line(self.l_margin, y - 1, self.w - self.r_margin, y - 1)
        # cell(), not text(): fpdf2 replaces the total-pages alias in cells when it closes.
        self.set_xy(self.l_margin, y)
        self.cell(self.epw / 2, 4, self.fit(self.ab_name, self.epw / 2 - 2))
        page = _("Page %(n)s of %(m)s", n=self.page_no(), m=self.str_alias_nb_pages)
        text = f"{self.footer_text} · {page}"
        self.cell(self.epw / 2, 4, text, align="R")
        if self.recorded is not None:
            self.recorded.texts.append((self.page_no(), self.ab_name))
            self.recorded.texts.append((self.page_no(), text))
        self.set_text_color(0)

    def finish(self) -> tuple[bytes, int]:
        data = bytes(self.output())
        pages = self.pages_count
        if self.recorded is not None:
            alias = self.str_alias_nb_pages
            self.recorded.texts = [(p, t.replace(alias, str(pages)))
                                   for p, t in self.recorded.texts]
        return data, pages

    # pictures

    def logo(self, data: bytes | None, x: float, y: float, h: float) -> float:
        """Draw the AB's logo; returns its width (0 without a logo or when it cannot be read:
        the AB's name then stands alone)."""
        if not data:
            return 0.0
        try:
            info = self.image(io.BytesIO(data), x=x, y=y, h=h)
        except Exception:  # a damaged image: the document still renders, with the name only
            current_app.logger.warning("the AB's logo could not be drawn; name only")
            return 0.0
        return float(info.rendered_width)

    def qr(self, payload: str, x: float, y: float, size: float) -> None:
        """The QR code of ``payload`` as filled rectangles (one per run of dark modules)."""
        code = segno.make(payload, error="m", micro=False)
        matrix = code.matrix
        n = len(matrix)
        m = size / n
        self.set_fill_color(0)
        dark = 0
        for r, row in enumerate(matrix):
            c = 0
            while c < n:
                if row[c] & 1:
                    start = c
                    while c < n and row[c] & 1:
                        c += 1
                    dark += c - start
                    # A hair of overlap so no light seam shows between rows when rasterised.
                    self.rect(x + start * m, y + r * m, (c - start) * m + 0.01, m + 0.01,
                              style="F")
                else:
                    c += 1
        if self.recorded is not None:
            self.recorded.qr, self.recorded.qr_modules = payload, dark


# -- the schedule -------------------------------------------------------------------------------


class SchedulePdf(Base):
    PAD = 1.0
    SIZE = 7.5  # table text (UKAS schedules use a small face for the CMC tables)

    def __init__(self, lay: ScheduleLayout, *, logo: bytes | None = None, record: bool = False):
        super().__init__(ab_name=lay.ab_name, footer=lay.footer, title=lay.title, record=record)
        self.lay, self.logo_data = lay, logo
        self._table: Table | None = None  # the table whose heading repeats on a new page

    def header(self) -> None:
        lay = self.lay
        self.set_text_color(0)
        top = 8.0
        if self.page_no() == 1:
            width = self.logo(self.logo_data, self.l_margin, top, 12)
            text_x = self.l_margin + (width + 3 if width else 0)
            self.set_font(FONT, "B", 10)
            self.put(text_x, top + 4, self.fit(lay.title, self.w - self.r_margin - text_x))
            self.set_font(FONT, "", 7.5)
            self.put(text_x, top + 8.5, self.fit(lay.ab_address, self.w - self.r_margin - text_x))
            top = 22.0
        else:
            self.set_font(FONT, "", 7.5)
            self.put(self.l_margin, top + 3, self.fit(lay.title, self.epw))
            top = 13.0
        self.set_draw_color(0)
        self.set_line_width(0.3)
        self.line(self.l_margin, top, self.w - self.r_margin, top)
        self.set_font(FONT, "B", 13)
        self.put(self.l_margin, top + 6, lay.number)
        self.set_font(FONT, "", 7.5)
        self.put(self.l_margin, top + 10, self.fit(lay.accredited_to, 55))
        self.set_font(FONT, "", 7.5)
        issue_w = self.width_of(lay.issue_line)
        self.put(self.w - self.r_margin - issue_w, top + 6, lay.issue_line)
        # The CAB's name between the number and the issue line, never over either.
        room = self.w - self.r_margin - issue_w - 4 - (self.l_margin + 58)
        self.set_font(FONT, "B", 9)
        name = self.fit(lay.cab_name, room)
        self.put(self.l_margin + 58 + (room - self.width_of(name)) / 2, top + 6, name)
        self.line(self.l_margin, top + 12.5, self.w - self.r_margin, top + 12.5)
        self.set_line_width(0.2)
        self.set_y(top + 15)

    def banner(self, text: str) -> None:
        self.set_font(FONT, "B", 9)
        lines = self.wrap(text, self.epw - 4)
        lh = self.line_height()
        h = lh * len(lines) + 3
        if self.get_y() + h > self.bottom:
            self.add_page()
        y = self.get_y()
        self.set_draw_color(170, 0, 0)
        self.set_fill_color(253, 236, 236)
        self.rect(self.l_margin, y, self.epw, h, style="DF")
        self.set_text_color(150, 0, 0)
        for i, line in enumerate(lines):
            self.put(self.l_margin + 2, y + 1.5 + lh * (i + 0.75), line)
        self.set_text_color(0)
        self.set_draw_color(0)
        self.set_y(y + h + 3)

    def heading(self, text: str) -> None:
        self.set_font(FONT, "B", 10)
        lh = self.line_height()
        if self.get_y() + lh * 4 > self.bottom:  # keep a heading with what follows it
            self.add_page()
        self.set_y(self.get_y() + 2)
        for line in self.wrap(text, self.epw):
            self.put(self.l_margin, self.get_y() + lh * 0.75, line)
            self.set_y(self.get_y() + lh)
        self.set_y(self.get_y() + 1)

    # tables

    def _cells(self, table: Table, row: Row) -> list[list[str]]:
        pad = 2 * self.PAD
        if row.group:
            self.set_font(FONT, "B", self.SIZE)
            return [self.wrap(row.cells[0], table.width - pad)]
        self.set_font(FONT, "", self.SIZE)
        return [self.wrap(text or "", col.width - pad)
                for text, col in zip(row.cells, table.columns, strict=False)]

    def _height(self, cells: list[list[str]]) -> float:
        return self.line_height() * max(len(c) for c in cells) + 2 * self.PAD

    def table_head(self, table: Table) -> None:
        self.set_font(FONT, "B", self.SIZE)
        cells = [self.wrap(c.label, c.width - 2 * self.PAD) for c in table.columns]
        h = self._height(cells)
        y, x = self.get_y(), self.l_margin
        self.set_fill_color(225)
        self.set_draw_color(90)
        self.rect(x, y, table.width, h, style="DF")
        lh = self.line_height()
        for col, lines in zip(table.columns, cells, strict=True):
            self.line(x, y, x, y + h)
            for i, line in enumerate(lines):
                self.put(x + self.PAD, y + self.PAD + lh * (i + 0.75), line)
            x += col.width
        self.set_y(y + h)
        if self.recorded is not None:
            self.recorded.table_heads.append((self.page_no(), table.columns[0].label))

    def table(self, table: Table) -> None:
        if not table.rows:
            return
        laid = [(row, self._cells(table, row)) for row in table.rows]
        heights = [self._height(cells) for _row, cells in laid]
        self._table = table
        self.set_font(FONT, "B", self.SIZE)
        head = self._height([self.wrap(c.label, c.width - 2 * self.PAD) for c in table.columns])
        if self.get_y() + head + heights[0] > self.bottom:
            self.add_page()
        self.table_head(table)
        room = self.bottom - (self.t_margin + head)  # the most a fresh page holds
        lh = self.line_height()
        for i, (row, cells) in enumerate(laid):
            h = heights[i]
            if h > room:  # a row taller than a page: cut its text, never the row
                keep = int((room - 2 * self.PAD) // lh)
                cells = [c[:keep] for c in cells]
                h = self._height(cells)
            need = h + (heights[i + 1] if row.group and i + 1 < len(laid) else 0)
            if self.get_y() + need > self.bottom:
                self.add_page()
                self.table_head(table)
            self._row(table, row, cells, h)
        self._table = None
        self.set_y(self.get_y() + 3)

    def _row(self, table: Table, row: Row, cells: list[list[str]], h: float) -> None:
        y, x = self.get_y(), self.l_margin
        lh = self.line_height()
        self.set_draw_color(150)
        if row.group:
            self.set_fill_color(240)
            self.rect(x, y, table.width, h, style="DF")
            self.set_font(FONT, "B", self.SIZE)
            for i, line in enumerate(cells[0]):
                self.put(x + self.PAD, y + self.PAD + lh * (i + 0.75), line)
        else:
            if row.suspended:
                self.set_fill_color(253, 236, 236)
                self.rect(x, y, table.width, h, style="DF")
            else:
                self.rect(x, y, table.width, h)
            self.set_font(FONT, "", self.SIZE)
            for col_i, (col, lines) in enumerate(zip(table.columns, cells, strict=False)):
                if col_i:
                    self.line(x, y, x, y + h)
                if row.suspended and col_i == 0:
                    self.set_text_color(150, 0, 0)
                for i, line in enumerate(lines):
                    self.put(x + self.PAD, y + self.PAD + lh * (i + 0.75), line)
                self.set_text_color(0)
                x += col.width
        if self.recorded is not None:
            self.recorded.rows.append((self.page_no(), y, h, row))
        self.set_y(y + h)

    # the document

    def build(self) -> None:
        lay = self.lay
        self.add_page()
        self.set_font(FONT, "B", 9)
        self.paragraph(lay.cab_name, bold=True, size=10)
        for line in lay.cab_block:
            self.paragraph(line, size=8.5)
        self.set_y(self.get_y() + 3)
        for text in lay.banners:
            self.banner(text)
        for text in lay.statements:
            self.paragraph(text, size=8.5)
        self.set_y(self.get_y() + 2)
        if lay.locations is not None:
            self.heading(lay.locations.caption)
            self.table(lay.locations)
        for section in lay.sections:
            self.heading(section.heading)
            for text in section.intro:
                self.paragraph(text, size=8)
            self.set_y(self.get_y() + 1)
            if section.table is not None:
                self.table(section.table)
        self.set_y(self.get_y() + 2)
        self.paragraph(_("END"), size=8, bold=True, align="C")


def render_schedule(lay: ScheduleLayout, *, logo: bytes | None = None,
                    record: bool = False) -> tuple[bytes, int, SchedulePdf]:
    """(PDF bytes, page count, the document — with ``recorded`` when ``record``)."""
    pdf = SchedulePdf(lay, logo=logo, record=record)
    pdf.build()
    data, pages = pdf.finish()
    return data, pages, pdf


# -- the certificate ----------------------------------------------------------------------------


class CertificatePdf(Base):
    FOOTER_Y = 19.0  # inside the frame
    def __init__(self, lay: CertificateLayout, *, logo: bytes | None = None,
                 record: bool = False):
        super().__init__(ab_name=lay.ab_name, footer=lay.footer, title=lay.title, record=record)
        self.lay, self.logo_data = lay, logo

    def header(self) -> None:
        # A double frame, as printed certificates have.
        self.set_draw_color(40, 60, 110)
        self.set_line_width(0.8)
        self.rect(9, 9, self.w - 18, self.h - 18)
        self.set_line_width(0.2)
        self.rect(11, 11, self.w - 22, self.h - 22)
        self.set_draw_color(0)

    def centred(self, text: str, size: float, *, bold: bool = False, gap: float = 0.0) -> None:
        self.paragraph(text, size=size, bold=bold, align="C", x=MARGIN + 5,
                       width=self.w - 2 * MARGIN - 10)
        self.set_y(self.get_y() + gap)

    def build(self) -> None:
        lay = self.lay
        self.add_page()
        top = 18.0
        width = self.logo(self.logo_data, MARGIN + 3, top, 18)
        x = MARGIN + 3 + (width + 4 if width else 0)
        self.set_font(FONT, "B", 15)
        self.put(x, top + 7, self.fit(lay.ab_name, self.w - MARGIN - 3 - x))
        self.set_font(FONT, "", 8)
        self.put(x, top + 12, self.fit(lay.ab_address, self.w - MARGIN - 3 - x))
        self.put(x, top + 16, self.fit(lay.ab_contact, self.w - MARGIN - 3 - x))
        self.set_y(58)
        self.set_text_color(40, 60, 110)
        self.centred(lay.title, 26, bold=True, gap=8)
        self.set_text_color(0)
        self.centred(lay.lead, 11, gap=3)
        self.centred(lay.cab_name, 18, bold=True, gap=1)
        for line in lay.cab_lines:
            self.centred(line, 9.5)
        self.set_y(self.get_y() + 6)
        self.centred(_("is accredited in accordance with"), 11, gap=2)
        self.centred(lay.accredited_as[0], 16, bold=True, gap=1)
        for line in lay.accredited_as[1:]:
            self.centred(line, 10, gap=1)
        self.set_y(self.get_y() + 6)
        label_w, value_w = 62.0, 70.0
        x0 = (self.w - label_w - value_w) / 2
        for label, value in lay.facts:
            y = self.get_y()
            self.set_font(FONT, "", 10)
            self.put(x0, y + 4, label)
            self.set_font(FONT, "B", 10)
            self.put(x0 + label_w, y + 4, self.fit(value, value_w))
            self.set_y(y + 6)
        self.set_y(self.get_y() + 5)
        for text in lay.banners:
            self.set_text_color(150, 0, 0)
            self.centred(text, 10, bold=True, gap=2)
            self.set_text_color(0)
        self.centred(lay.validity, 9.5, gap=2)
        # Verification: the QR code and the address it carries, at the foot of the page.
        size = 30.0
        qx, qy = self.w - MARGIN - 5 - size, self.h - 24 - size
        if lay.verify_url:
            self.qr(lay.verify_url, qx, qy, size)
            self.set_y(qy + 8)
            self.paragraph(_("Verify this accreditation, its current status and schedule:"),
                           size=8.5, x=MARGIN + 5, width=qx - MARGIN - 10)
            self.paragraph(lay.verify_url, size=8.5, bold=True, x=MARGIN + 5,
                           width=qx - MARGIN - 10)


def render_certificate(lay: CertificateLayout, *, logo: bytes | None = None,
                       record: bool = False) -> tuple[bytes, int, CertificatePdf]:
    pdf = CertificatePdf(lay, logo=logo, record=record)
    pdf.build()
    data, pages = pdf.finish()
    return data, pages, pdf
