"""The drawn PDFs: page "n of m" on every page, table headings repeated, rows never cut, the QR
code of the verification address, the logo or the name alone."""

from __future__ import annotations

import io

import segno
from PIL import Image

from accreditor.certificates.layout import certificate_layout, schedule_layout
from accreditor.certificates.render import render_certificate, render_schedule
from tests.certificates.test_layout import CAL, details, line


def cal_lines(n: int, suspended_every: int = 0) -> list[dict]:
    return [line(i, {**CAL, "discipline": ("PRES", "MASS", "TEMP")[i * 3 // n],
                     "remarks": "Dead-weight tester " * (1 + i % 5)},
                 status="suspended" if suspended_every and i % suspended_every == 3
                 else "accredited") for i in range(n)]


def schedule(n: int = 300, **kw):
    d = details("calibration", "ISO/IEC 17025", "2017", **kw)
    return render_schedule(schedule_layout(d, cal_lines(n, 40)), record=True)


def test_every_page_has_the_footer_with_page_n_of_m_and_the_ab_name(app):
    data, pages, pdf = schedule()
    assert data.startswith(b"%PDF-") and pages > 3
    rec = pdf.recorded
    for page in range(1, pages + 1):
        text = rec.text_on(page)
        assert f"Issue No 007 · 07 July 2026 · Page {page} of {pages}" in text
        assert "Alpha Accreditation Service" in text
        assert "0331" in text and "Precision Metrology Ltd" in text  # the page header


def test_the_table_heading_repeats_on_every_page_the_table_spans(app):
    _data, pages, pdf = schedule()
    rec = pdf.recorded
    cmc_pages = {p for p, label in rec.table_heads
                 if label == "Measured quantity, instrument or gauge"}
    row_pages = {p for p, _y, _h, r in rec.rows if r.cells[0] != "Head office"
                 and r.cells[0] not in ("A", "B")}
    assert row_pages - {1} <= cmc_pages
    assert len(cmc_pages) >= pages - 1


def test_rows_are_never_cut_and_a_discipline_heading_never_ends_a_page(app):
    _data, _pages, pdf = schedule()
    rows = pdf.recorded.rows
    bottom = pdf.h - 16
    assert all(top + h <= bottom + 0.01 for _p, top, h, _r in rows)
    for (page, _t, _h, row), (next_page, *_rest) in zip(rows, rows[1:], strict=False):
        if row.group:
            assert next_page == page, row.cells
    # every row of the layout was placed exactly once
    placed = [r for *_x, r in rows]
    assert len(placed) == len(schedule_layout(details("calibration", "ISO/IEC 17025", "2017"),
                                              cal_lines(300, 40)).rows())


def test_suspended_lines_are_drawn_marked(app):
    _data, _pages, pdf = schedule(status="partially_suspended")
    text = pdf.recorded.all_text
    assert "SUSPENDED – Pressure gauges" in text
    assert "PARTIALLY SUSPENDED" in text


def test_the_certificate_is_one_page_with_the_qr_code_of_the_public_entry(app):
    d = details("calibration", "ISO/IEC 17025", "2017")
    data, pages, pdf = render_certificate(certificate_layout(d), record=True)
    assert pages == 1 and data.startswith(b"%PDF-")
    rec = pdf.recorded
    assert rec.qr == "http://localhost/alpha/directory/0331"
    expected = segno.make(rec.qr, error="m", micro=False)
    assert rec.qr_modules == sum(sum(v & 1 for v in row) for row in expected.matrix)
    text = rec.all_text
    for words in ("Certificate of Accreditation", "Precision Metrology Ltd", "ISO/IEC 17025:2017",
                  "0331", "01 March 2021", "valid only with the current schedule",
                  "Page 1 of 1", "http://localhost/alpha/directory/0331"):
        assert words in text, words


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 40), (20, 60, 140)).save(out, "PNG")
    return out.getvalue()


def test_the_logo_is_drawn_when_given_and_a_broken_one_leaves_the_name(app):
    d = details("calibration", "ISO/IEC 17025", "2017")
    with_logo, _p, pdf = render_certificate(certificate_layout(d), logo=_png())
    without, _p, _pdf = render_certificate(certificate_layout(d))
    assert b"/Subtype /Image" in with_logo and b"/Subtype /Image" not in without
    broken, pages, pdf = render_certificate(certificate_layout(d), logo=b"\x89PNG\r\n\x1a\nxx",
                                            record=True)
    assert pages == 1 and b"/Subtype /Image" not in broken
    assert "Alpha Accreditation Service" in pdf.recorded.all_text
