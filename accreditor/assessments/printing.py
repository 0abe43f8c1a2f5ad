"""The assessment plan (shared with the CAB) and the assessment report (issued by the lead) as
printable documents: the data both renderings share, gathered in a fixed number of queries, and
the PDF built with fpdf2 and the bundled DejaVu fonts.

What the CAB may read is decided here, once: the documents carry names, roles and organisations
of the team, the sample, the locations, the agenda and the report — never the AB's internal
notes, the risk consideration or the ICT risk note. The loader defers those columns with
``raiseload``, so code that tried to print them would fail loudly instead of leaking them.

Queries: the plan runs four (the assessment with its CAB, accreditation, programme and edition;
the locations visited; the team; the sampled lines), the report two (the assessment; the team),
whatever the size of the sample.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from flask import abort, current_app, g
from flask_babel import gettext as _
from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import defer, joinedload

from accreditor.assessments import services
from accreditor.assessments.forms import MODE_LABELS, ROLE_LABELS, STATUS_LABELS, TYPE_LABELS
from accreditor.assessments.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    AssessmentStatus,
)
from accreditor.assessments.team import team_listing
from accreditor.cabs.models import CabLocation
from accreditor.core.db import utcnow
from accreditor.core.pdftext import PT, MeasuredText
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation, ItemStatus, ScopeItem

S = AssessmentStatus
# The CAB sees the plan once the team has been proposed to it (rule 4), and the report once the
# lead has issued it.
PLAN_SHARED = frozenset({S.team_proposed, S.team_confirmed, S.plan_approved, S.in_progress,
                         S.report_issued, S.closed})
REPORT_ISSUED = frozenset({S.report_issued, S.closed})
# Never on a printed document (the loader refuses to read them).
PRIVATE_COLUMNS = ("internal_notes", "risk_consideration", "ict_risk_note")
# Tests turn compression off to read the PDF's text.
COMPRESS = True
FONT = "DejaVu"


# -- the data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    name: str
    role: str
    role_label: str
    organisation: str | None


@dataclass(frozen=True)
class Location:
    code: str
    name: str
    address: str
    country: str
    is_critical: bool

    @property
    def label(self) -> str:
        return f"{self.code} – {self.name}"


@dataclass(frozen=True)
class Line:
    position: int
    summary: str
    status: str
    status_label: str


@dataclass
class Common:
    """What both documents start with."""

    assessment_id: int
    status: str
    status_label: str
    ab_name: str
    cab_name: str
    number: str | None
    programme: str
    type_label: str
    mode: str
    mode_label: str
    start: date
    end: date
    team: list[Member] = field(default_factory=list)
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def dates(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} – {self.end.isoformat()}"

    @property
    def generated(self) -> str:
        return self.generated_at.strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class PlanData(Common):
    remote_justification: str | None = None
    onsite_not_applicable_reason: str | None = None
    locations: list[Location] = field(default_factory=list)
    missing_location_codes: list[str] = field(default_factory=list)
    agenda: str | None = None
    lines: list[Line] = field(default_factory=list)
    team_notified_on: date | None = None
    window_ends_on: date | None = None
    window_waived: bool = False

    @property
    def is_shared(self) -> bool:
        return S(self.status) in PLAN_SHARED

    @property
    def objection_window(self) -> str:
        if self.team_notified_on is None:
            return _("The team has not been proposed to the CAB yet.")
        text = _("The team was proposed to the CAB on %(d)s.", d=self.team_notified_on.isoformat())
        if self.window_waived:
            return text + " " + _("The objection window was waived.")
        if self.window_ends_on is None:
            return text
        if date.today() <= self.window_ends_on:
            return text + " " + _("The CAB may object to any member of the team, giving its "
                                  "reasons, until %(d)s.", d=self.window_ends_on.isoformat())
        return text + " " + _("The objection window closed on %(d)s.",
                              d=self.window_ends_on.isoformat())


@dataclass(frozen=True)
class ReportFinding:
    """One finding as the report prints it."""

    reference: str
    grade: str
    requirement: str
    statement: str
    status: str
    due: str


@dataclass
class ReportData(Common):
    summary: str | None = None
    findings: list = field(default_factory=list)
    scope_recommended: str | None = None
    recommendation: str | None = None
    recommendation_label: str | None = None
    lead_name: str | None = None
    issued_on: date | None = None

    @property
    def is_issued(self) -> bool:
        return self.issued_on is not None and S(self.status) in REPORT_ISSUED


def plan_data(assessment_id: int, *, for_cab: bool) -> PlanData:
    """The plan; the CAB reads it once the team is proposed (404 before, and once cancelled)."""
    a = load_assessment(assessment_id)
    if for_cab and a.status_enum not in PLAN_SHARED:
        abort(404)
    return gather_plan(a)


def report_data(assessment_id: int, *, for_cab: bool) -> ReportData:
    """The report; the CAB reads it once it is issued (404 before)."""
    a = load_assessment(assessment_id)
    if for_cab and a.status_enum not in REPORT_ISSUED:
        abort(404)
    return gather_report(a)


def load_assessment(assessment_id: int) -> Assessment:
    """The assessment with what both documents show, in one query; 404 for another tenant's or
    (in the portal) another CAB's assessment. The private columns cannot be read from it."""
    return get_scoped_or_404(
        Assessment, assessment_id, joinedload(Assessment.cab),
        joinedload(Assessment.accreditation).joinedload(Accreditation.programme),
        joinedload(Assessment.accreditation).joinedload(Accreditation.edition),
        *(defer(getattr(Assessment, name), raiseload=True) for name in PRIVATE_COLUMNS))


def _ab_name() -> str:
    tenant = g.get("tenant")
    return tenant.name if tenant is not None else ""


def _programme(acc: Accreditation) -> str:
    p = acc.programme
    edition = f":{acc.edition.edition}" if acc.edition is not None else ""
    return f"{p.standard}{edition} – {p.name} ({p.code})"


def _team(a: Assessment) -> list[Member]:
    return [Member(name=m["name"], role=m["role"],
                   role_label=str(ROLE_LABELS.get(m["role"], m["role"])),
                   organisation=m["organisation"]) for m in team_listing(a)]


def _common(a: Assessment) -> dict:
    status = a.status
    return {"assessment_id": a.id, "status": status,
            "status_label": str(STATUS_LABELS.get(status, status)), "ab_name": _ab_name(),
            "cab_name": a.cab.legal_name, "number": a.accreditation.number,
            "programme": _programme(a.accreditation),
            "type_label": str(TYPE_LABELS.get(a.type, a.type)), "mode": a.mode,
            "mode_label": str(MODE_LABELS.get(a.mode, a.mode)), "start": a.planned_start_on,
            "end": a.planned_end_on, "team": _team(a)}


def _line_status(status: str) -> str:
    if status == ItemStatus.applied:
        return _("requested")
    if status == ItemStatus.accredited:
        return _("accredited")
    return status.replace("_", " ")


def gather_plan(a: Assessment) -> PlanData:
    """The plan as the CAB reads it (three queries after the assessment's own)."""
    codes = [str(c) for c in (a.location_codes or [])]
    by_code: dict[str, CabLocation] = {}
    if codes:
        for loc in db.session.execute(
                select(CabLocation).where(CabLocation.cab_id == a.cab_id,
                                          CabLocation.code.in_(codes))
                .order_by(CabLocation.is_active, CabLocation.id)).scalars():
            by_code[loc.code] = loc  # an active location wins over a retired one of that code
    lines = db.session.execute(
        select(ScopeItem.position, ScopeItem.summary, ScopeItem.status)
        .join(AssessmentItem, AssessmentItem.scope_item_id == ScopeItem.id)
        .where(AssessmentItem.assessment_id == a.id)
        .order_by(ScopeItem.position, ScopeItem.id)).all()
    remote = a.mode != AssessmentMode.onsite
    return PlanData(
        **_common(a),
        remote_justification=a.remote_justification if remote else None,
        onsite_not_applicable_reason=a.onsite_not_applicable_reason
        if a.onsite_not_applicable else None,
        locations=[Location(code=c, name=by_code[c].name, address=by_code[c].address,
                            country=by_code[c].country, is_critical=by_code[c].is_critical)
                   for c in codes if c in by_code],
        missing_location_codes=[c for c in codes if c not in by_code],
        agenda=a.agenda,
        lines=[Line(position=pos, summary=summary, status=st, status_label=_line_status(st))
               for pos, summary, st in lines],
        team_notified_on=a.team_notified_at.date() if a.team_notified_at else None,
        window_ends_on=a.objection_window_ends_on, window_waived=a.objection_window_waived)


def gather_report(a: Assessment) -> ReportData:
    """The report (two queries after the assessment's own: the team, the findings)."""
    common = _common(a)
    lead = next((m.name for m in common["team"] if m.role == "lead"), None)
    return ReportData(
        **common, summary=a.report_summary, scope_recommended=a.scope_recommended,
        recommendation=a.recommendation,
        recommendation_label=str(services.RECOMMENDATIONS.get(a.recommendation,
                                                              a.recommendation))
        if a.recommendation else None,
        lead_name=lead, issued_on=a.report_issued_at.date() if a.report_issued_at else None,
        findings=_report_findings(a))


def _report_findings(a: Assessment) -> list[ReportFinding]:
    """The assessment's findings (not withdrawn; in the CAB's copy only issued ones exist, as
    the CAB reads the report once issued), in one query."""
    from accreditor.findings.models import Finding, FindingStatus

    rows = db.session.execute(select(Finding).where(
        Finding.assessment_id == a.id, Finding.status != FindingStatus.withdrawn.value)
        .order_by(Finding.seq)).scalars()
    out = []
    for f in rows:
        due = (_("response %(r)s, evidence %(e)s", r=f.response_due_on.isoformat(),
                 e=f.evidence_due_on.isoformat()) if f.response_due_on and f.evidence_due_on
               else "–")
        out.append(ReportFinding(f.reference, f.grade_label, f"{f.standard} {f.clause}",
                                 f.statement, f.status.replace("_", " "), due))
    return out

def pdf_filename(kind: str, data: Common) -> str:
    """``plan-<number>-<id>.pdf``: ASCII only, safe inside a quoted header value."""
    number = unicodedata.normalize("NFKD", data.number or "").encode("ascii", "ignore").decode()
    number = re.sub(r"[^A-Za-z0-9._-]+", "-", number).strip("-.")
    return f"{kind}-{number}-{data.assessment_id}.pdf" if number \
        else f"{kind}-{data.assessment_id}.pdf"


# -- the PDF ------------------------------------------------------------------------------------

class Document(MeasuredText, FPDF):
    """A4, the AB's name and the document's title at the top of every page, the page number and
    the generation time at the bottom. Text is wrapped here (by word widths from the font's
    metrics) and written line by line: fpdf2's own ``multi_cell`` measures a line again for
    every character, too slow for a 2,000-line sample."""

    MARGIN = 18.0

    def __init__(self, *, ab_name: str, title: str, generated: str, draft_mark: str = ""):
        super().__init__(orientation="P", unit="mm", format="A4")
        fonts = Path(current_app.static_folder or "static") / "fonts"
        self.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.ab_name, self.doc_title, self.generated = ab_name, title, generated
        self.draft_mark = draft_mark
        self._widths: dict[tuple[str, float, str], float] = {}
        self.set_margins(self.MARGIN, 24, self.MARGIN)
        self.set_auto_page_break(True, 16)
        self.set_compression(COMPRESS)
        self.set_title(title)
        self.set_author(ab_name)
        self.set_creator("Accreditor")
        self.alias_nb_pages()
        self.set_font(FONT, size=10)

    # page furniture

    def header(self) -> None:
        self.set_text_color(60)
        self.set_font(FONT, "B", 9)
        self.text(self.l_margin, 12, self.fit(self.ab_name, self.epw * 0.5))
        self.set_font(FONT, "", 9)
        title = self.doc_title + (f" · {self.draft_mark}" if self.draft_mark else "")
        title = self.fit(title, self.epw * 0.48)
        self.text(self.w - self.r_margin - self.width_of(title), 12, title)
        self.set_draw_color(150)
        self.line(self.l_margin, 14.5, self.w - self.r_margin, 14.5)
        self.set_text_color(0)
        self.set_font(FONT, "", 10)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        self.set_text_color(90)
        self.set_font(FONT, "", 8)
        # cell(), not text(): only cells replace the total-pages alias when the PDF is closed.
        self.set_xy(self.l_margin, self.h - 12)
        self.cell(self.epw / 2, 5, _("Generated %(d)s", d=self.generated))
        self.cell(self.epw / 2, 5, _("Page %(n)s/%(of)s", n=self.page_no(),
                                     of=self.str_alias_nb_pages), align="R")
        self.set_text_color(0)

    # measuring and wrapping

    # writing

    def line_height(self) -> float:
        return self.font_size_pt * PT * 1.4

    def room_for(self, height: float) -> None:
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def _write_lines(self, lines: list[str], x: float, top: float) -> None:
        lh = self.line_height()
        for i, text in enumerate(lines):
            if text:
                self.text(x, top + i * lh + lh * 0.72, text)

    def title_block(self, title: str, subtitle: str) -> None:
        self.set_font(FONT, "B", 16)
        self.paragraph(title, size=16, bold=True)
        self.paragraph(subtitle, size=11)
        self.ln(2)

    def banner(self, text: str) -> None:
        """A red boxed line: a draft, a cancelled assessment."""
        self.set_font(FONT, "B", 11)
        lh = self.line_height() + 2
        self.room_for(lh)
        self.set_draw_color(180, 0, 0)
        self.set_text_color(180, 0, 0)
        self.rect(self.l_margin, self.get_y(), self.epw, lh)
        self.text(self.l_margin + 2, self.get_y() + lh * 0.68, text)
        self.set_text_color(0)
        self.set_draw_color(150)
        self.set_y(self.get_y() + lh + 3)
        self.set_font(FONT, "", 10)

    def heading(self, text: str) -> None:
        self.set_font(FONT, "B", 12)
        lh = self.line_height()
        self.room_for(lh * 3)  # keep a heading with what follows it
        self.ln(3)
        self._write_lines([text], self.l_margin, self.get_y())
        self.set_y(self.get_y() + lh + 1)
        self.set_font(FONT, "", 10)

    def paragraph(self, text: str | None, *, size: float = 10, bold: bool = False,
                  indent: float = 0.0, muted: bool = False) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        if muted:
            self.set_text_color(90)
        lh = self.line_height()
        for line in self.wrap(text or "", self.epw - indent):
            self.room_for(lh)
            self._write_lines([line], self.l_margin + indent, self.get_y())
            self.set_y(self.get_y() + lh)
        self.set_text_color(0)
        self.set_font(FONT, "", 10)

    def fields(self, pairs: list[tuple[str, str]], label_width: float = 60.0) -> None:
        """Label: value rows (a definition list)."""
        self.table([("", label_width), ("", self.epw - label_width)],
                   [(label, value) for label, value in pairs], header=False, bold_first=True,
                   rules=False)

    def table(self, columns: list[tuple[str, float]], rows, *, header: bool = True,
              bold_first: bool = False, rules: bool = True, size: float = 9) -> None:
        """Rows of wrapped cells; the heading row is repeated on every page."""
        pad = 1.2
        widths = [w for _t, w in columns]

        def heading_row() -> None:
            self.set_font(FONT, "B", size)
            lh = self.line_height()
            cells = [self.wrap(t, w - 2 * pad) for t, w in columns]
            h = lh * max(len(c) for c in cells) + 1
            self.set_fill_color(235)
            self.rect(self.l_margin, self.get_y(), sum(widths), h, style="F")
            x = self.l_margin
            for c, w in zip(cells, widths, strict=True):
                self._write_lines(c, x + pad, self.get_y() + 0.5)
                x += w
            self.set_y(self.get_y() + h)

        self.set_font(FONT, "", size)
        if header:
            self.room_for(self.line_height() * 3)
            heading_row()
        self.set_font(FONT, "", size)
        lh = self.line_height()
        for row in rows:
            cells = []
            for i, (value, w) in enumerate(zip(row, widths, strict=True)):
                if bold_first and i == 0:
                    self.set_font(FONT, "B", size)
                cells.append(self.wrap(value or "", w - 2 * pad))
                if bold_first and i == 0:
                    self.set_font(FONT, "", size)
            h = lh * max(len(c) for c in cells) + 1
            if self.get_y() + h > self.page_break_trigger:
                self.add_page()
                if header:
                    heading_row()
                self.set_font(FONT, "", size)
            x, top = self.l_margin, self.get_y()
            for i, (c, w) in enumerate(zip(cells, widths, strict=True)):
                if bold_first and i == 0:
                    self.set_font(FONT, "B", size)
                self._write_lines(c, x + pad, top + 0.5)
                if bold_first and i == 0:
                    self.set_font(FONT, "", size)
                x += w
            if rules:
                self.set_draw_color(210)
                self.line(self.l_margin, top + h, self.l_margin + sum(widths), top + h)
            self.set_y(top + h)
        self.set_font(FONT, "", 10)
        self.ln(1)

    def render(self) -> bytes:
        return bytes(self.output())


def _identity(pdf: Document, data: Common) -> None:
    pdf.fields([(_("Accreditation body"), data.ab_name),
                (_("Conformity assessment body"), data.cab_name),
                (_("Accreditation number"), data.number or _("not yet assigned")),
                (_("Programme"), data.programme),
                (_("Type of assessment"), data.type_label),
                (_("Mode"), data.mode_label),
                (_("Dates"), data.dates)])


def _team_table(pdf: Document, team: list[Member]) -> None:
    if not team:
        pdf.paragraph(_("Nobody is on the team yet."), muted=True)
        return
    w = pdf.epw
    pdf.table([(_("Name"), w * 0.38), (_("Role"), w * 0.24), (_("Organisation"), w * 0.38)],
              [(m.name, m.role_label, m.organisation or "–") for m in team])


def plan_pdf(data: PlanData) -> bytes:
    """The assessment plan as a PDF."""
    draft = "" if data.is_shared else (
        _("CANCELLED") if data.status == S.cancelled else _("DRAFT — not yet sent to the CAB"))
    pdf = Document(ab_name=data.ab_name, title=_("Assessment plan"), generated=data.generated,
                   draft_mark=draft)
    pdf.add_page()
    pdf.title_block(_("Assessment plan"), f"{data.cab_name} · {data.type_label} · {data.dates}")
    if draft:
        pdf.banner(draft)
    _identity(pdf, data)
    if data.mode != AssessmentMode.onsite:
        pairs = [(_("Justification for remote means"), data.remote_justification or "–")]
        if data.onsite_not_applicable_reason:
            pairs.append((_("On-site not applicable"), data.onsite_not_applicable_reason))
        pdf.fields(pairs)

    pdf.heading(_("Locations visited"))
    if data.locations or data.missing_location_codes:
        w = pdf.epw
        pdf.table([(_("Code"), w * 0.1), (_("Name"), w * 0.3), (_("Address"), w * 0.5),
                   (_("Country"), w * 0.1)],
                  [(loc.code, loc.name + (f" ({_('critical')})" if loc.is_critical else ""),
                    loc.address, loc.country) for loc in data.locations]
                  + [(c, "–", "–", "–") for c in data.missing_location_codes])
    else:
        pdf.paragraph(_("No locations chosen."), muted=True)

    pdf.heading(_("Agenda"))
    pdf.paragraph(data.agenda or _("No agenda yet."), muted=not data.agenda)

    pdf.heading(_("Assessment team"))
    _team_table(pdf, data.team)
    pdf.heading(_("The CAB's right to object"))
    pdf.paragraph(data.objection_window)

    pdf.heading(_("Sampled scope lines (%(n)d)", n=len(data.lines)))
    if data.lines:
        w = pdf.epw
        pdf.table([("#", w * 0.08), (_("Scope line"), w * 0.74), (_("Status"), w * 0.18)],
                  [(str(li.position), li.summary, li.status_label) for li in data.lines])
    else:
        pdf.paragraph(_("No scope lines sampled yet."), muted=True)
    return pdf.render()


def report_pdf(data: ReportData) -> bytes:
    """The assessment report as a PDF; marked as a draft on every page until it is issued."""
    draft = "" if data.is_issued else _("DRAFT — not issued")
    pdf = Document(ab_name=data.ab_name, title=_("Assessment report"), generated=data.generated,
                   draft_mark=draft)
    pdf.add_page()
    pdf.title_block(_("Assessment report"), f"{data.cab_name} · {data.type_label} · {data.dates}")
    if draft:
        pdf.banner(draft)
    _identity(pdf, data)
    pdf.fields([(_("Report status"), data.status_label),
                (_("Issued"), data.issued_on.isoformat() if data.issued_on else _("not issued")),
                (_("Lead assessor"), data.lead_name or "–")])
    pdf.heading(_("Summary"))
    pdf.paragraph(data.summary or _("Not written yet."), muted=not data.summary)
    pdf.heading(_("Scope recommended"))
    pdf.paragraph(data.scope_recommended or _("Not stated."), muted=not data.scope_recommended)
    pdf.heading(_("Findings (%(n)d)", n=len(data.findings)))
    if data.findings:
        w = pdf.epw
        pdf.table([(_("Ref."), w * 0.08), (_("Grade"), w * 0.16), (_("Requirement"), w * 0.18),
                   (_("Statement"), w * 0.38), (_("Due"), w * 0.20)],
                  [(f.reference, f.grade, f.requirement, f.statement, f.due)
                   for f in data.findings])
    else:
        pdf.paragraph(no_findings_text(), muted=True)
    pdf.heading(_("Recommendation to the decision maker"))
    pdf.paragraph(data.recommendation_label or _("Not made yet."),
                  bold=bool(data.recommendation_label))
    pdf.heading(_("Assessment team"))
    _team_table(pdf, data.team)
    return pdf.render()


def no_findings_text() -> str:
    return _("No findings were raised in this assessment.")
