"""What a schedule of accreditation and a certificate say, laid out per programme as real ABs lay
them out (DOMAIN.md §3), before anything is drawn.

Everything here is a pure function of a schedule version's snapshot (``details``, written by
``services.issue_documents``) and its ``lines``: no database, no PDF. ``render`` draws the result;
tests read it directly (the words, the columns, which rows are suspended).

Column headings follow the schedules compared in docs/certificates.md: UKAS calibration
(Measured quantity, instrument or gauge | Range | CMC expressed as expanded uncertainty (k = 2) |
Remarks | Location code), UKAS testing (Materials/Products tested | Type of test/Properties
measured/Range of measurement | Standard specifications/Equipment/Techniques used | Location
code), inspection per ILAC G28, management-system CBs per standard with their IAF codes, and
person-certification schemes with owner, normative document and levels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

SUSPENDED = "suspended"
# Programme activity as the certificate words it ("… accredited … as a calibration laboratory").
STANDARD_TITLES = {
    "ISO/IEC 17025": "General requirements for the competence of testing and calibration "
                     "laboratories",
    "ISO/IEC 17020": "Conformity assessment — Requirements for the operation of various types of "
                     "bodies performing inspection",
    "ISO/IEC 17021-1": "Conformity assessment — Requirements for bodies providing audit and "
                       "certification of management systems — Part 1: Requirements",
    "ISO/IEC 17024": "Conformity assessment — General requirements for bodies operating "
                     "certification of persons",
    "ISO/IEC 17065": "Conformity assessment — Requirements for bodies certifying products, "
                     "processes and services",
    "ISO 15189": "Medical laboratories — Requirements for quality and competence",
}
SITE_CODES = {"P": "Permanent laboratory", "O": "On site (customers' premises)"}


# -- the pieces ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    label: str
    width: float  # millimetres


@dataclass
class Row:
    cells: list[str]
    suspended: bool = False
    group: bool = False  # a heading row spanning the table (a discipline, a field)


@dataclass
class Table:
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    caption: str = ""

    @property
    def width(self) -> float:
        return sum(c.width for c in self.columns)


@dataclass
class Section:
    heading: str
    intro: list[str] = field(default_factory=list)
    table: Table | None = None


@dataclass
class ScheduleLayout:
    ab_name: str
    ab_address: str
    title: str  # "Schedule of Accreditation issued by …"
    number: str
    accredited_to: str  # "Accredited to ISO/IEC 17025:2017"
    cab_name: str
    cab_block: list[str]  # trading names, address, contact lines
    issue_line: str  # "Issue No: 003   Issue date: 07 July 2026"
    footer: str  # "Issue No 003 · 07 July 2026"
    banners: list[str] = field(default_factory=list)  # suspension notices (rule 20)
    statements: list[str] = field(default_factory=list)
    locations: Table | None = None
    sections: list[Section] = field(default_factory=list)

    def rows(self) -> list[Row]:
        out = list(self.locations.rows) if self.locations else []
        for s in self.sections:
            if s.table is not None:
                out.extend(s.table.rows)
        return out


@dataclass
class CertificateLayout:
    ab_name: str
    ab_address: str
    ab_contact: str
    title: str
    lead: str  # "This is to certify that"
    cab_name: str
    cab_lines: list[str]
    accredited_as: list[str]  # the standard, its title, the activity
    facts: list[tuple[str, str]]  # (label, value): number, dates, issue
    validity: str
    banners: list[str]
    verify_url: str
    footer: str


# -- helpers ------------------------------------------------------------------------------------


EPW = 180.0  # A4 portrait with 15 mm margins


def day(value: str | date | None) -> str:
    """``07 July 2026`` (the UKAS style), from an ISO date string or a date."""
    if not value:
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value))
    return format_date(d, "dd MMMM yyyy")


def issue_no(n: int) -> str:
    return f"{int(n):03d}"


def _term(details: dict, kind: str, code: str | None) -> str:
    if not code:
        return ""
    return (details.get("terms") or {}).get(kind, {}).get(code, code)


def _lines(lines: list[dict]) -> list[dict]:
    return sorted(lines or [], key=lambda r: (r.get("position") or 0, r.get("id") or 0))


def _is_suspended(line: dict) -> bool:
    return line.get("status") == SUSPENDED


def _mark(text: str, line: dict) -> str:
    """A suspended line says so in its first cell (rule 20)."""
    return f"{_('SUSPENDED')} – {text}" if _is_suspended(line) else text


def _grouped(lines: list[dict], key) -> list[tuple[str, list[dict]]]:
    """Lines grouped by ``key`` in order of first appearance, position order within."""
    groups: dict[str, list[dict]] = {}
    for line in _lines(lines):
        groups.setdefault(key(line), []).append(line)
    return list(groups.items())


def _scaled(columns: list[tuple[str, float]]) -> list[Column]:
    total = sum(w for _l, w in columns)
    return [Column(label, EPW * w / total) for label, w in columns]


def _num(value) -> str:
    return "" if value is None else str(value)


def cal_range(f: dict) -> str:
    lo, hi, unit = _num(f.get("range_min")), _num(f.get("range_max")), f.get("range_unit") or ""
    if not lo and not hi:
        return f.get("range") or ""
    if lo == hi or not lo:
        return f"{hi} {unit}".strip()
    return f"{lo} {unit} to {hi} {unit}".replace("  ", " ").strip()


def cal_cmc(f: dict) -> str:
    cmc = f"{_num(f.get('cmc'))} {f.get('cmc_unit') or ''}".strip()
    term = (f.get("cmc_term") or "").strip()
    return f"{cmc} {term}".strip() if term else cmc


# -- the schedule ---------------------------------------------------------------------------------


def schedule_layout(details: dict, lines: list[dict]) -> ScheduleLayout:
    ab, cab = details.get("ab") or {}, details.get("cab") or {}
    number = details.get("number") or _("(number not assigned)")
    standard = details.get("standard_label") or details.get("standard") or ""
    no = issue_no(details.get("issue_no") or 0)
    issued = day(details.get("issued_on"))
    lay = ScheduleLayout(
        ab_name=ab.get("name", ""),
        ab_address=", ".join(_address_lines(ab.get("address"))),
        title=_("Schedule of Accreditation issued by %(ab)s", ab=ab.get("name", "")),
        number=number,
        accredited_to=_("Accredited to %(std)s", std=standard),
        cab_name=cab.get("legal_name", ""),
        cab_block=_cab_block(cab),
        issue_line=_("Issue No: %(n)s   Issue date: %(d)s", n=no, d=issued),
        footer=_("Issue No %(n)s · %(d)s", n=no, d=issued),
    )
    lay.banners = _banners(details, lines)
    scope_type = (details.get("programme") or {}).get("scope_type", "generic")
    builder = _BUILDERS.get(scope_type, _generic)
    builder(lay, details, lines)
    return lay


def _address_lines(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").replace("\r", "").split("\n") if p.strip()]


def _cab_block(cab: dict) -> list[str]:
    out = []
    if cab.get("trading_names"):
        out.append(_("trading as %(names)s", names=", ".join(cab["trading_names"])))
    out.extend(_address_lines(cab.get("address")))
    contact = cab.get("contact") or {}
    if contact.get("name"):
        out.append(_("Contact: %(name)s", name=contact["name"]))
    for label, key in ((_("Tel"), "phone"), (_("E-Mail"), "email")):
        if contact.get(key):
            out.append(f"{label}: {contact[key]}")
    if cab.get("website"):
        out.append(_("Website: %(url)s", url=cab["website"]))
    return out


def _banners(details: dict, lines: list[dict]) -> list[str]:
    status = details.get("status") or ""
    if status == "suspended":
        return [_("This accreditation is SUSPENDED. While suspended, the body may not issue "
                  "accredited certificates or reports for any part of the scope below.")]
    if status in ("withdrawn", "voluntarily_withdrawn"):
        return [_("This accreditation has been WITHDRAWN. The schedule below is kept for "
                  "reference only.")]
    if status == "expired":
        return [_("This accreditation has EXPIRED.")]
    if status == "inactive":
        return [_("This accreditation is INACTIVE at the body's own request. While inactive, "
                  "the body may not issue accredited certificates or reports for any part of "
                  "the scope below.")]
    if status == "partially_suspended" or any(_is_suspended(x) for x in lines or []):
        return [_("This accreditation is PARTIALLY SUSPENDED: the activities marked SUSPENDED "
                  "below are not covered by the accreditation while the suspension lasts; the "
                  "other activities remain accredited.")]
    return []


def _location_table(details: dict, lines: list[dict], activity_word: str) -> Table | None:
    locations = [x for x in details.get("locations") or [] if x.get("is_active", True)]
    used = {(x.get("fields") or {}).get("location") for x in lines or []}
    table = Table(_scaled([(_("Location details"), 95), (_("Activity"), 60),
                           (_("Location code"), 25)]), caption=_("Locations covered"))
    suspended = set(details.get("suspended_locations") or [])
    for loc in locations:
        text = "\n".join([loc.get("name") or "", *_address_lines(loc.get("address"))]).strip()
        activity = loc.get("activities") or activity_word
        row = Row([text, activity, loc.get("code") or ""], suspended=loc.get("code") in suspended)
        if row.suspended:
            row.cells[0] = f"{_('SUSPENDED')} – {row.cells[0]}"
        table.rows.append(row)
    for code, label in SITE_CODES.items():
        if code in used and code not in {x.get("code") for x in locations}:
            what = _("Site activities performed away from the locations listed above, at "
                     "customers' premises, subject to contract review") if code == "O" \
                else _("The permanent laboratory of the organisation")
            table.rows.append(Row([what, label, code]))
    return table if table.rows else None


def _location_statement(table: Table | None, activity: str) -> str:
    if table is None or len(table.rows) <= 1:
        return _("%(activity)s performed at the above address only.", activity=activity)
    return _("%(activity)s performed by the Organisation at the locations specified below.",
             activity=activity)


def _calibration(lay: ScheduleLayout, details: dict, lines: list[dict]) -> None:
    lay.locations = _location_table(details, lines, _("Calibration"))
    lay.statements.append(_location_statement(lay.locations, _("Calibration")))
    cols = _scaled([(_("Measured quantity, instrument or gauge"), 46), (_("Range"), 30),
                    (_("CMC expressed as expanded uncertainty (k = 2)"), 32),
                    (_("Remarks"), 56), (_("Location code"), 16)])
    table = Table(cols, caption=_("Calibration and measurement capability (CMC)"))
    for discipline, group in _grouped(lines, lambda x: (x.get("fields") or {}).get(
            "discipline", "")):
        table.rows.append(Row([_term(details, "calibration_discipline", discipline).upper()
                               or _("CALIBRATION")], group=True))
        for line in group:
            f = line.get("fields") or {}
            quantity = f.get("quantity") or line.get("summary") or ""
            table.rows.append(Row([_mark(quantity, line), cal_range(f), cal_cmc(f),
                                   f.get("remarks") or "", f.get("location") or ""],
                                  suspended=_is_suspended(line)))
    lay.sections.append(Section(
        _("DETAIL OF ACCREDITATION"),
        [_("Calibration and Measurement Capability (CMC). The CMC is expressed as an expanded "
           "uncertainty with a coverage factor k = 2, for a level of confidence of "
           "approximately 95 %.")], table))


def _testing(lay: ScheduleLayout, details: dict, lines: list[dict]) -> None:
    lay.locations = _location_table(details, lines, _("Testing"))
    lay.statements.append(_location_statement(lay.locations, _("Testing")))
    cols = _scaled([(_("Materials/Products tested"), 44),
                    (_("Type of test/Properties measured/Range of measurement"), 52),
                    (_("Standard specifications/Equipment/Techniques used"), 62),
                    (_("Location code"), 20)])
    table = Table(cols, caption=_("Tests"))
    for field_code, group in _grouped(lines, lambda x: (x.get("fields") or {}).get("field", "")):
        table.rows.append(Row([_term(details, "testing_field", field_code).upper()
                               or _("TESTING")], group=True))
        for line in group:
            f = line.get("fields") or {}
            test = f.get("test") or ""
            if f.get("range"):
                test = f"{test}\n{f['range']}" if test else f["range"]
            table.rows.append(Row([_mark(f.get("product") or line.get("summary") or "", line),
                                   test, f.get("method") or "", f.get("location") or ""],
                                  suspended=_is_suspended(line)))
    lay.sections.append(Section(_("DETAIL OF ACCREDITATION"), [], table))


def _inspection(lay: ScheduleLayout, details: dict, lines: list[dict]) -> None:
    ib = details.get("ib_type")
    if ib:
        lay.statements.append(_("Inspection body type %(t)s (ISO/IEC 17020).", t=ib))
    lay.locations = _location_table(details, lines, _("Inspection"))
    cols = _scaled([(_("Field of inspection"), 40), (_("Type of inspection"), 30),
                    (_("Range of inspection"), 50), (_("Methods and procedures for inspection"),
                                                      44), (_("Location code"), 16)])
    table = Table(cols, caption=_("Inspection"))
    for line in _lines(lines):
        f = line.get("fields") or {}
        stages = ", ".join(_term(details, "inspection_stage", s) for s in f.get("stage") or [])
        table.rows.append(Row([_mark(_term(details, "inspection_field", f.get("field"))
                                     or line.get("summary") or "", line), stages,
                               f.get("range") or "", f.get("method") or "",
                               f.get("location") or ""], suspended=_is_suspended(line)))
    lay.sections.append(Section(_("DETAIL OF ACCREDITATION"), [], table))


_MS_LISTS = (("iaf_codes", "iaf_code"), ("food_chain", "food_chain"), ("md9_areas", "md9_area"))


def _ms(lay: ScheduleLayout, details: dict, lines: list[dict]) -> None:
    lay.locations = _location_table(details, [], _("Certification"))
    titles = details.get("ms_titles") or {}
    for standard, group in _grouped(lines, lambda x: (x.get("fields") or {}).get("standard", "")):
        title = titles.get(standard)
        heading = f"{standard} — {title}" if title else (standard or _("Management systems"))
        table = Table(_scaled([(_("Code"), 22), (_("Technical area"), 158)]),
                      caption=heading)
        for line in group:
            f = line.get("fields") or {}
            codes = [(kind, c) for name, kind in _MS_LISTS for c in f.get(name) or []]
            if not codes:
                table.rows.append(Row([_mark("—", line),
                                       _("Certification of management systems to %(s)s",
                                         s=standard)], suspended=_is_suspended(line)))
            for kind, code in codes:
                name = _term(details, kind, code)
                area = name if name != code else ""
                if kind == "iaf_code" and f.get("nace"):
                    area = _("%(area)s (restricted to NACE %(nace)s)", area=area, nace=f["nace"])
                label = f"IAF {code}" if kind == "iaf_code" else code
                table.rows.append(Row([_mark(label, line), area],
                                      suspended=_is_suspended(line)))
        lay.sections.append(Section(heading, [], table))
    if not lay.sections:
        lay.sections.append(Section(_("DETAIL OF ACCREDITATION"),
                                    [_("No activity is in the scope of this issue.")]))


def _persons(lay: ScheduleLayout, details: dict, lines: list[dict]) -> None:
    lay.locations = _location_table(details, [], _("Examination"))
    cols = _scaled([(_("Certification scheme"), 44), (_("Scheme owner"), 32),
                    (_("Normative document"), 40), (_("Levels / categories"), 34),
                    (_("Examination sites"), 30)])
    table = Table(cols, caption=_("Certification schemes"))
    for line in _lines(lines):
        f = line.get("fields") or {}
        table.rows.append(Row([_mark(f.get("scheme") or line.get("summary") or "", line),
                               f.get("scheme_owner") or "", f.get("normative_document") or "",
                               f.get("levels") or "", f.get("exam_sites") or ""],
                              suspended=_is_suspended(line)))
    lay.sections.append(Section(_("DETAIL OF ACCREDITATION"), [], table))


def _generic(lay: ScheduleLayout, details: dict, lines: list[dict]) -> None:
    lay.locations = _location_table(details, [], "")
    table = Table(_scaled([(_("Activity / product / scheme"), 60),
                           (_("Normative document"), 50), (_("Details"), 70)]))
    for line in _lines(lines):
        f = line.get("fields") or {}
        table.rows.append(Row([_mark(f.get("activity") or line.get("summary") or "", line),
                               f.get("normative_document") or "", f.get("details") or ""],
                              suspended=_is_suspended(line)))
    lay.sections.append(Section(_("DETAIL OF ACCREDITATION"), [], table))


_BUILDERS = {
    "calibration": _calibration,
    "testing": _testing,
    "inspection": _inspection,
    "ms_certification": _ms,
    "person_certification": _persons,
    "generic": _generic,
}


# -- the certificate --------------------------------------------------------------------------


_ACTIVITY = {
    "calibration": _l("as a calibration laboratory"),
    "testing": _l("as a testing laboratory"),
    "inspection": _l("as an inspection body"),
    "ms_certification": _l("as a certification body for management systems"),
    "person_certification": _l("as a certification body for persons"),
}


def certificate_layout(details: dict) -> CertificateLayout:
    ab, cab = details.get("ab") or {}, details.get("cab") or {}
    programme = details.get("programme") or {}
    scope_type = programme.get("scope_type", "generic")
    standard = details.get("standard") or programme.get("standard") or ""
    no = issue_no(details.get("issue_no") or 0)
    issued = day(details.get("issued_on"))
    accredited_as = [details.get("standard_label") or standard]
    if STANDARD_TITLES.get(standard):
        accredited_as.append(STANDARD_TITLES[standard])
    activity = str(_ACTIVITY[scope_type]) if scope_type in _ACTIVITY else programme.get("name", "")
    if details.get("ib_type"):
        activity = _("%(a)s of type %(t)s", a=activity, t=details["ib_type"])
    accredited_as.append(activity)
    facts = [(_("Accreditation number"), details.get("number") or "—")]
    if details.get("initial_grant_on"):
        facts.append((_("Initial accreditation"), day(details["initial_grant_on"])))
    facts.append((_("Effective date of this issue"), issued))
    if details.get("expiry_on"):
        facts.append((_("Expiry date"), day(details["expiry_on"])))
    elif details.get("cycle_end_on"):
        facts.append((_("Current accreditation cycle ends"), day(details["cycle_end_on"])))
    facts.append((_("Certificate issue"), _("Issue No %(n)s of %(d)s", n=no, d=issued)))
    contact = " · ".join(x for x in (ab.get("website"), ab.get("email")) if x)
    banners = [b for b in _banners(details, []) if "PARTIALLY" not in b]
    if details.get("status") == "partially_suspended":
        banners.append(_("Part of the scope of this accreditation is SUSPENDED; see the "
                         "schedule of accreditation."))
    return CertificateLayout(
        ab_name=ab.get("name", ""),
        ab_address=", ".join(_address_lines(ab.get("address"))),
        ab_contact=contact,
        title=_("Certificate of Accreditation"),
        lead=_("This is to certify that"),
        cab_name=cab.get("legal_name", ""),
        cab_lines=_cab_block({k: v for k, v in cab.items() if k != "contact"}),
        accredited_as=accredited_as,
        facts=facts,
        validity=_("This certificate is valid only with the current schedule of accreditation, "
                   "which defines the accredited activities; see the schedule (Issue No "
                   "%(n)s of %(d)s or any later issue) at the address below.", n=no, d=issued),
        banners=banners,
        verify_url=details.get("verify_url") or "",
        footer=_("Issue No %(n)s · %(d)s", n=no, d=issued),
    )
