"""Witness records (rule 35) and the IAF MD 17 witnessing matrix of MS CBs (DOMAIN.md §2.1,
rule 34).

A witness record names the CAB activity observed (a CB audit of a named client and its type,
an inspection, an examination of candidates, a test or a calibration), the CAB personnel
observed, the standard and code/cluster/category or scheme, full or partial, on-site or remote,
the date and place, and the outcome. Rules enforced by :func:`record_witness` and
:func:`update_witness` (each refusal names its field):

* the activity fits the programme's scope type: ``ms_audit`` for 17021-1, ``inspection`` for
  17020, ``examination`` for 17024, ``test`` for 17025 testing, ``calibration`` for 17025
  calibration; a programme added as data with a generic scope takes any activity but an MS audit;
* an MS audit names the client, the audit type, a standard of the live scope (applied,
  accredited or suspended lines) and the code of that standard's scope lines: an IAF code (ISO
  9001/14001/45001), a food-chain category (ISO 22000, FSSC 22000) or an MD 9 area (ISO 13485).
  A standard whose scope has a line without codes (ISO/IEC 27001, ISO 50001) needs no code;
* labs and inspection bodies name the field / discipline of the live scope; person-certification
  bodies the scheme;
* a linked assessment belongs to the same accreditation and is not cancelled. For MS CBs it must
  be a *witness* assessment (MD 17 witnessing is its own visit to the CB's client); for other
  programmes witnessing happens during on-site assessments, so any type but a document review
  (the effort estimator already counts the witnessed activities of any assessment);
* witnessed on or before today; extent full or partial; mode on-site or remote; the personnel
  observed (rule 35) and the place (a remote witness names the link, e.g. "Remote — video link
  to the client's site") are required;
* new records only for a live accreditation (applicant, accredited, suspended).

Who may write: admins and accreditation managers always; an assessor only for a record linked to
an assessment on whose team they are the lead or an assessor (the people who observed and report
the witness). Decision makers and other assessors read. Without a signed-in user (CLI, demo data)
the caller is the system. Every create and edit writes an audit event. Linking a record to an
assessment (on creation or by an edit) records that assessment's estimate again while its plan
can change, since the estimate counts its witnessed activities. Nothing here commits.

Due status (the matrix, :func:`matrix`; ⚙ TenantPolicy ``witness_code_cycle_years`` = N,
``witness_due_soon_days`` = D):

* only witnesses whose outcome is satisfactory or "findings raised" count; an *unsatisfactory*
  witness (the CAB's competence could not be confirmed) needs a new witness. Partial and remote
  witnesses count: MD 17 defines witnessing as observing "all of the audit or relevant parts",
  "on site … or remotely";
* a **critical** code must itself be witnessed every N years: due on = last witness + N years;
  ``overdue`` when due on < today, ``due soon`` when today ≥ due on − D days, else ``ok``;
  ``never`` (always a problem: MD 17 wants a witness in a critical code before it is granted)
  when it has no witness;
* a **non-critical** code is covered through its cluster: at least one code of the cluster
  (critical ones included, for the same standard) witnessed every N years; the code shows the
  cluster's status, ``never`` when no code of the cluster was ever witnessed. The cluster's
  witness propagates only while every critical code of the cluster (same standard) is current
  (ok or due soon); otherwise the code shows its own last witness (``never`` without one);
* clusters are the tenant's MD 17 clusters (reference lists, editable per tenant) at the time the
  matrix is computed; a witness counts for the cluster its code belongs to now. Codes without a
  cluster form a cluster of their own.

The matrix and :func:`overdue_critical` run a fixed number of queries whatever the scope size.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import func, select

from accreditor.assessments import services
from accreditor.assessments.models import (
    Assessment,
    AssessmentStatus,
    AssessmentType,
    Witness,
    WitnessActivity,
)
from accreditor.core import audit
from accreditor.core.errors import Conflict, PermissionDenied, ValidationFailed
from accreditor.core.permissions import Role, acting_user, has_role
from accreditor.extensions import db
from accreditor.refdata import services as refdata
from accreditor.refdata.models import Programme, ScopeType, TermKind
from accreditor.scopes import services as scope_services
from accreditor.scopes.models import Accreditation, ItemStatus, ScopeItem
from accreditor.tenants.models import TenantPolicy

W = WitnessActivity
ACTIVITIES_FOR = {
    ScopeType.ms_certification: (W.ms_audit,),
    ScopeType.inspection: (W.inspection,),
    ScopeType.person_certification: (W.examination,),
    ScopeType.testing: (W.test,),
    ScopeType.calibration: (W.calibration,),
    ScopeType.generic: (W.inspection, W.examination, W.test, W.calibration),
}
AUDIT_TYPES = ("initial_stage1", "initial_stage2", "surveillance", "recertification", "special")
EXTENTS = ("full", "partial")
MODES = ("onsite", "remote")
OUTCOMES = ("satisfactory", "findings", "unsatisfactory")
COUNTING_OUTCOMES = ("satisfactory", "findings")
# Scope lines a witness may concern: requested (witness before the grant), accredited, suspended.
LIVE_LINES = (ItemStatus.accredited.value, ItemStatus.suspended.value, ItemStatus.applied.value)
WRITERS = (Role.admin, Role.manager)
# The scope-line field that names a lab's / IB's technical area, and its reference list.
CATEGORY_FIELD = {ScopeType.testing: ("field", TermKind.testing_field),
                  ScopeType.calibration: ("discipline", TermKind.calibration_discipline),
                  ScopeType.inspection: ("field", TermKind.inspection_field)}
MAX_LENGTHS = {"standard": 80, "client_name": 250, "category": 40, "place": 250}
MS_KINDS = (("iaf_codes", TermKind.iaf_code), ("food_chain", TermKind.food_chain),
            ("md9_areas", TermKind.md9_area))


class DueStatus(StrEnum):
    ok = "ok"
    due_soon = "due_soon"
    overdue = "overdue"
    never = "never"


CURRENT = (DueStatus.ok, DueStatus.due_soon)


# -- the live scope ---------------------------------------------------------------------------


@dataclass
class StandardArea:
    """The codes one MS standard has in the live scope: {kind: {code: best line status}}."""

    codes: dict[TermKind, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    whole: str | None = None  # line status of a line without codes (scope by standard)

    @property
    def needs_code(self) -> bool:
        return self.whole is None


@dataclass
class ScopeAreas:
    scope_type: ScopeType
    standards: dict[str, StandardArea] = field(default_factory=dict)  # MS: label -> codes
    categories: dict[str, str] = field(default_factory=dict)  # labs/IBs: code -> name
    schemes: list[str] = field(default_factory=list)  # 17024 schemes / generic activities
    terms: dict[TermKind, dict] = field(default_factory=dict)  # reference lists used

    def code_kind(self, standard: str) -> TermKind | None:
        """The code list an MS standard's lines use (IAF first), or None (scope by standard)."""
        area = self.standards.get(standard)
        if area is None:
            return None
        for _name, kind in MS_KINDS:
            if area.codes.get(kind):
                return kind
        return None

    def term(self, kind: TermKind, code: str):
        return self.terms.get(kind, {}).get(code)


_RANK = {ItemStatus.accredited.value: 0, ItemStatus.suspended.value: 1,
         ItemStatus.applied.value: 2}


def _better(old: str | None, new: str) -> str:
    return new if old is None or _RANK[new] < _RANK[old] else old


def scope_type_of(accreditation: Accreditation) -> ScopeType:
    return ScopeType(db.session.execute(
        select(Programme.scope_type).where(Programme.id == accreditation.programme_id)
    ).scalar_one())


def scope_areas(accreditation: Accreditation, scope_type: ScopeType | None = None) -> ScopeAreas:
    """What a witness may concern: the standards and codes (MS), fields / disciplines (labs,
    IBs) or schemes (17024, generic) of the accreditation's live scope lines. One query for the
    lines and one per reference list used."""
    scope_type = scope_type or scope_type_of(accreditation)
    areas = ScopeAreas(scope_type)
    lines = db.session.execute(
        select(ScopeItem.status, ScopeItem.fields)
        .where(ScopeItem.accreditation_id == accreditation.id, ScopeItem.status.in_(LIVE_LINES),
               scope_services.line_visible_to_staff())  # never a draft application's line
        .order_by(ScopeItem.position, ScopeItem.id)).all()
    if scope_type == ScopeType.ms_certification:
        for status, fields in lines:
            fields = fields or {}
            label = str(fields.get("standard") or "")
            if not label:
                continue
            area = areas.standards.setdefault(label, StandardArea())
            has_codes = False
            for name, kind in MS_KINDS:
                for code in fields.get(name) or []:
                    has_codes = True
                    codes = area.codes[kind]
                    codes[str(code)] = _better(codes.get(str(code)), status)
            if not has_codes:
                area.whole = _better(area.whole, status)
        used = {kind for a in areas.standards.values() for kind, c in a.codes.items() if c}
        for kind in (TermKind.iaf_code, TermKind.food_chain, TermKind.md9_area):
            if kind in used or kind == TermKind.iaf_code:  # IAF: names for the form's labels
                areas.terms[kind] = refdata.terms(kind, active_only=False)
    elif scope_type in CATEGORY_FIELD:
        name, kind = CATEGORY_FIELD[scope_type]
        terms = refdata.terms(kind, active_only=False)
        areas.terms[kind] = terms
        for _status, fields in lines:
            code = str((fields or {}).get(name) or "")
            if code:
                term = terms.get(code)
                areas.categories.setdefault(code, term.name if term is not None else code)
    else:
        name = "scheme" if scope_type == ScopeType.person_certification else "activity"
        areas.schemes = list(dict.fromkeys(
            str((fields or {}).get(name) or "").strip() for _s, fields in lines
            if str((fields or {}).get(name) or "").strip()))
    return areas


# -- who may ----------------------------------------------------------------------------------


def can_write(assessment: Assessment | None) -> bool:
    """Admins and managers; an assessor only for a record linked to an assessment whose team has
    them as lead or assessor; the system (no signed-in user) always."""
    user = acting_user()
    if user is None or has_role(*WRITERS):
        return True
    if assessment is None or not has_role(Role.assessor):
        return False
    return services.can_write(assessment)


def _require_writer(assessment: Assessment | None) -> None:
    if not can_write(assessment):
        raise PermissionDenied(_(
            "Only accreditation managers, or the lead and assessors on the team of the linked "
            "witness assessment, may record witnesses."))


# -- checks -----------------------------------------------------------------------------------


def _text(value) -> str | None:
    return (str(value) if value is not None else "").strip() or None


def _norm_iaf(value: str | None) -> str | None:
    value = _text(value)
    if value is None:
        return None
    value = value.upper().removeprefix("IAF").strip().split(" ")[0].rstrip(".–-")
    return value.lstrip("0") or "0"


def linked_assessment(accreditation: Accreditation, assessment_id, scope_type: ScopeType
                      ) -> Assessment | None:
    """The assessment a witness is linked to: of the same accreditation, not cancelled; a witness
    assessment for MS CBs, any type but a document review otherwise."""
    if assessment_id in (None, "", 0, "0"):
        return None
    try:
        ident = int(assessment_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Choose an assessment from the list."),
                               field="assessment_id") from None
    a = db.session.execute(select(Assessment).where(Assessment.id == ident)).scalar_one_or_none()
    if a is None or a.accreditation_id != accreditation.id:
        raise ValidationFailed(_("That assessment is not an assessment of this accreditation."),
                               field="assessment_id")
    if a.status == AssessmentStatus.cancelled:
        raise ValidationFailed(_("That assessment was cancelled; link the witness to one that "
                                 "took place."), field="assessment_id")
    if scope_type == ScopeType.ms_certification and a.type != AssessmentType.witness:
        raise ValidationFailed(_("An MS audit is witnessed in a witness assessment (IAF MD 17); "
                                 "this one is a %(t)s.", t=a.type.replace("_", " ")),
                               field="assessment_id")
    if a.type == AssessmentType.document_review:
        raise ValidationFailed(_("A document review is a desk review: nothing is witnessed in "
                                 "it."), field="assessment_id")
    return a


def _clean(accreditation: Accreditation, areas: ScopeAreas, data: dict) -> dict:
    st = areas.scope_type
    allowed = ACTIVITIES_FOR.get(st, ())
    activity = _text(data.get("activity"))
    if activity not in {a.value for a in allowed}:
        names = ", ".join(a.value.replace("_", " ") for a in allowed)
        raise ValidationFailed(_("This programme's witnessed activity is: %(a)s.", a=names),
                               field="activity")
    out: dict = {"activity": activity, "client_name": _text(data.get("client_name")),
                 "audit_type": None, "standard": None, "iaf_code": None, "cluster": None,
                 "category": None}
    personnel = _text(data.get("cab_personnel"))
    if not personnel:
        raise ValidationFailed(_("Name the CAB personnel observed (rule 35)."),
                               field="cab_personnel")
    out["cab_personnel"] = personnel
    if activity == W.ms_audit:
        out.update(_clean_ms(areas, data, out["client_name"]))
    elif st in CATEGORY_FIELD:
        code = _text(data.get("category"))
        if not areas.categories:
            raise ValidationFailed(_("The scope has no lines yet to witness."), field="category")
        if code not in areas.categories:
            raise ValidationFailed(_("Choose a field of the accreditation's scope."),
                                   field="category")
        out["category"] = code
        out["standard"] = _text(data.get("standard"))
    else:
        scheme = _text(data.get("standard"))
        if not areas.schemes:
            raise ValidationFailed(_("The scope has no lines yet to witness."), field="standard")
        if scheme not in areas.schemes:
            raise ValidationFailed(_("Choose a scheme of the accreditation's scope."),
                                   field="standard")
        out["standard"] = scheme
        out["category"] = _text(data.get("category"))
    out["place"] = _text(data.get("place"))
    if out["place"] is None:
        raise ValidationFailed(_("Give the place of the witnessed activity; for a remote "
                                 "witness, e.g. “Remote — video link to the client's "
                                 "site”."), field="place")
    for name, limit in MAX_LENGTHS.items():
        if out[name] is not None and len(out[name]) > limit:
            raise ValidationFailed(_("At most %(n)d characters.", n=limit), field=name)
    extent, mode = _text(data.get("extent")), _text(data.get("mode"))
    if extent not in EXTENTS:
        raise ValidationFailed(_("Say whether the activity was witnessed in full or in part."),
                               field="extent")
    if mode not in MODES:
        raise ValidationFailed(_("Say whether it was witnessed on-site or remotely."),
                               field="mode")
    on = data.get("witnessed_on")
    if not isinstance(on, date):
        raise ValidationFailed(_("Give the date of the witnessed activity."),
                               field="witnessed_on")
    if on > date.today():
        raise ValidationFailed(_("A witness is recorded after it took place: the date is in the "
                                 "future."), field="witnessed_on")
    outcome = _text(data.get("outcome")) or "satisfactory"
    if outcome not in OUTCOMES:
        raise ValidationFailed(_("Choose the outcome."), field="outcome")
    out.update(extent=extent, mode=mode, witnessed_on=on, outcome=outcome,
               notes=_text(data.get("notes")))
    return out


def _clean_ms(areas: ScopeAreas, data: dict, client: str | None) -> dict:
    if not client:
        raise ValidationFailed(_("Name the CB's client whose audit was witnessed."),
                               field="client_name")
    audit_type = _text(data.get("audit_type"))
    if audit_type not in AUDIT_TYPES:
        raise ValidationFailed(_("Choose the type of the CB's audit."), field="audit_type")
    standard = _text(data.get("standard"))
    if not areas.standards:
        raise ValidationFailed(_("The scope has no lines yet to witness."), field="standard")
    if standard not in areas.standards:
        raise ValidationFailed(_("Choose a standard of the accreditation's scope."),
                               field="standard")
    area = areas.standards[standard]
    kind = areas.code_kind(standard)
    iaf, category = _norm_iaf(data.get("iaf_code")), _text(data.get("category"))
    out = {"audit_type": audit_type, "standard": standard, "iaf_code": None, "category": None,
           "cluster": None}
    if iaf is not None:
        if iaf not in area.codes.get(TermKind.iaf_code, {}):
            in_scope = ", ".join(area.codes.get(TermKind.iaf_code, {})) or _("none")
            raise ValidationFailed(_("IAF code %(c)s is not in the scope for %(s)s (in scope: "
                                     "%(k)s).", c=iaf, s=standard, k=in_scope), field="iaf_code")
        out["iaf_code"] = iaf
        term = areas.term(TermKind.iaf_code, iaf)
        out["cluster"] = term.group if term is not None else None
    if category is not None:
        other = {**area.codes.get(TermKind.food_chain, {}), **area.codes.get(TermKind.md9_area,
                                                                              {})}
        if category not in other:
            raise ValidationFailed(_("Category %(c)s is not in the scope for %(s)s.",
                                     c=category, s=standard), field="category")
        out["category"] = category
        ckind = TermKind.food_chain if category in area.codes.get(TermKind.food_chain, {}) \
            else TermKind.md9_area
        term = areas.term(ckind, category)
        out["cluster"] = out["cluster"] or (term.group if term is not None else None)
    if area.needs_code:
        if kind == TermKind.iaf_code and out["iaf_code"] is None:
            raise ValidationFailed(_("Give the IAF code of the witnessed audit (one of the scope "
                                     "for %(s)s).", s=standard), field="iaf_code")
        if kind in (TermKind.food_chain, TermKind.md9_area) and out["category"] is None:
            raise ValidationFailed(_("Give the category of the witnessed audit (one of the "
                                     "scope for %(s)s).", s=standard), field="category")
    return out


FIELDS = ("assessment_id", "activity", "client_name", "audit_type", "cab_personnel", "standard",
          "iaf_code", "cluster", "category", "extent", "mode", "witnessed_on", "place",
          "outcome", "notes")


# -- use cases --------------------------------------------------------------------------------


def record_witness(accreditation: Accreditation, **data) -> Witness:
    """Record a witnessed activity of the CAB (rules 34, 35, checks in the module docstring).
    Raises ValidationFailed naming the field, PermissionDenied, or Conflict for an accreditation
    that is no longer live."""
    if not accreditation.is_live:
        raise Conflict(_("This accreditation is %(s)s; no witness can be recorded for it.",
                         s=accreditation.status.replace("_", " ")), code="accreditation_closed")
    areas = scope_areas(accreditation)
    assessment = linked_assessment(accreditation, data.get("assessment_id"), areas.scope_type)
    _require_writer(assessment)
    values = _clean(accreditation, areas, data)
    witness = Witness(cab_id=accreditation.cab_id, accreditation_id=accreditation.id,
                      assessment_id=assessment.id if assessment else None, **values)
    db.session.add(witness)
    db.session.flush()
    audit.record("witness.recorded", witness, changes={
        "accreditation_id": [None, accreditation.id], **audit.snapshot(witness, FIELDS)})
    _refresh_estimates(assessment)
    return witness


def _refresh_estimates(*assessments: Assessment | None) -> None:
    """The estimate counts the witness records linked to an assessment: record it again (audited
    when it changes) for each assessment whose plan can still change; once the plan is approved
    its estimate is on record."""
    for a in assessments:
        if a is not None and a.status_enum in services.PLAN_EDITABLE:
            services.record_estimate(a)


def update_witness(witness: Witness, accreditation: Accreditation, **data) -> Witness:
    """Correct a witness record, with the same checks as recording it; an assessor must be on the
    team of the record's assessment and of the one it is moved to."""
    if witness.accreditation_id != accreditation.id:
        raise ValidationFailed(_("The witness record belongs to another accreditation."))
    areas = scope_areas(accreditation)
    current = linked_assessment_of(witness)
    _require_writer(current)
    assessment = linked_assessment(accreditation, data.get("assessment_id"), areas.scope_type)
    if assessment is not None and (current is None or assessment.id != current.id):
        _require_writer(assessment)
    values = _clean(accreditation, areas, data)
    witness.assessment_id = assessment.id if assessment else None
    for key, value in values.items():
        setattr(witness, key, value)
    changes = audit.diff(witness)
    if changes:
        db.session.flush()
        audit.record("witness.updated", witness, changes=changes)
    if "assessment_id" in changes:  # relinked: both assessments' counts changed
        _refresh_estimates(current, assessment)
    return witness


def linked_assessment_of(witness: Witness) -> Assessment | None:
    if witness.assessment_id is None:
        return None
    return db.session.execute(
        select(Assessment).where(Assessment.id == witness.assessment_id)).scalar_one_or_none()


def linkable_assessments(accreditation: Accreditation, scope_type: ScopeType) -> list[Assessment]:
    """The assessments a witness of this accreditation may be linked to, newest first."""
    stmt = select(Assessment).where(Assessment.accreditation_id == accreditation.id,
                                    Assessment.status != AssessmentStatus.cancelled.value)
    if scope_type == ScopeType.ms_certification:
        stmt = stmt.where(Assessment.type == AssessmentType.witness.value)
    else:
        stmt = stmt.where(Assessment.type != AssessmentType.document_review.value)
    return list(db.session.execute(
        stmt.order_by(Assessment.planned_start_on.desc(), Assessment.id.desc())).scalars())


# -- the MD 17 matrix -------------------------------------------------------------------------


@dataclass
class CodeRow:
    standard: str
    cluster: str
    kind: str  # a TermKind value, or "standard" for a line without codes
    code: str
    name: str
    is_critical: bool
    line_status: str
    last_witnessed_on: date | None  # this code's own last counting witness
    status: DueStatus = DueStatus.never
    due_on: date | None = None
    via_cluster: bool = False  # a non-critical code: the status is its cluster's
    critical_not_current: bool = False  # not propagated: a critical code of the cluster is not

    @property
    def problem(self) -> bool:
        return self.status in (DueStatus.overdue, DueStatus.never)


@dataclass
class ClusterRow:
    standard: str
    cluster: str
    codes: list[CodeRow]
    last_witnessed_on: date | None
    status: DueStatus
    due_on: date | None

    @property
    def problem(self) -> bool:
        return self.status in (DueStatus.overdue, DueStatus.never)


@dataclass
class Matrix:
    today: date
    cycle_years: int
    due_soon_days: int
    clusters: list[ClusterRow]

    @property
    def rows(self) -> list[CodeRow]:
        return [r for c in self.clusters for r in c.codes]

    def count(self, status: DueStatus) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def critical_problems(self) -> list[CodeRow]:
        return [r for r in self.rows if r.is_critical and r.problem]


def due_status(last: date | None, *, today: date, cycle_years: int, due_soon_days: int
               ) -> tuple[DueStatus, date | None]:
    """(status, due date) of something last witnessed on ``last`` (module docstring)."""
    if last is None:
        return DueStatus.never, None
    due = last + relativedelta(years=cycle_years)
    if due < today:
        return DueStatus.overdue, due
    if today >= due - timedelta(days=due_soon_days):
        return DueStatus.due_soon, due
    return DueStatus.ok, due


def code_key(code: str):
    return (0, int(code), "") if code.isdigit() else (1, 0, code)


def natural_key(text: str) -> list:
    """"ISO 9001" before "ISO 14001": digit runs compare as numbers."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", text)]


def last_witnesses(accreditation: Accreditation) -> dict[tuple[str, str, str], date]:
    """The last counting MS-audit witness date per (standard, kind, code), one query; kind
    "standard" (code "") for witnesses that name no code."""
    rows = db.session.execute(
        select(Witness.standard, Witness.iaf_code, Witness.category,
               func.max(Witness.witnessed_on))
        .where(Witness.accreditation_id == accreditation.id,
               Witness.activity == W.ms_audit.value,
               Witness.outcome.in_(COUNTING_OUTCOMES))
        .group_by(Witness.standard, Witness.iaf_code, Witness.category)).all()
    out: dict[tuple[str, str, str], date] = {}

    def keep(key, on):
        if key not in out or out[key] < on:
            out[key] = on

    for standard, iaf, category, on in rows:
        standard = standard or ""
        if iaf:
            keep((standard, TermKind.iaf_code.value, iaf), on)
        if category:
            keep((standard, "category", category), on)
        keep((standard, "standard", ""), on)  # any witness of the standard
    return out


def matrix(accreditation: Accreditation, *, today: date | None = None,
           policy: TenantPolicy | None = None) -> Matrix:
    """The MD 17 coverage matrix of a 17021-1 accreditation: standard × cluster × code of the
    live scope, critical flags, last witness dates and due statuses (module docstring)."""
    today = today or date.today()
    policy = policy or TenantPolicy.current()
    years, soon = policy.witness_code_cycle_years, policy.witness_due_soon_days
    areas = scope_areas(accreditation, ScopeType.ms_certification)
    last = last_witnesses(accreditation)
    clusters: list[ClusterRow] = []
    for standard in sorted(areas.standards, key=natural_key):
        area = areas.standards[standard]
        groups: dict[str, list[CodeRow]] = defaultdict(list)
        for kind, codes in area.codes.items():
            for code, line_status in codes.items():
                term = areas.term(kind, code)
                cluster = (term.group if term is not None and term.group else
                           _("IAF %(c)s (no cluster)", c=code) if kind == TermKind.iaf_code
                           else _("%(c)s (no cluster)", c=code))
                key = kind.value if kind == TermKind.iaf_code else "category"
                groups[cluster].append(CodeRow(
                    standard, cluster, kind.value, code, term.name if term is not None else code,
                    bool(term is not None and term.is_critical), line_status,
                    last.get((standard, key, code))))
        if area.whole is not None:
            cluster = _("Whole standard")
            groups[cluster].append(CodeRow(standard, cluster, "standard", "", standard, False,
                                           area.whole, last.get((standard, "standard", ""))))
        # Witnesses of codes no longer in scope still show the cluster's competence.
        extra = _witnessed_elsewhere(areas, standard, last)
        for cluster in sorted(groups, key=str.lower):
            rows = sorted(groups[cluster], key=lambda r: code_key(r.code))
            dates = [r.last_witnessed_on for r in rows if r.last_witnessed_on]
            dates += extra.get(cluster, [])
            cluster_last = max(dates) if dates else None
            c_status, c_due = due_status(cluster_last, today=today, cycle_years=years,
                                         due_soon_days=soon)
            for r in rows:
                if r.is_critical or r.kind == "standard":
                    r.status, r.due_on = due_status(r.last_witnessed_on, today=today,
                                                    cycle_years=years, due_soon_days=soon)
            # MD 17 (DOMAIN.md §2.1): a witness propagates to the non-critical codes of its
            # cluster only while every critical code of that cluster is current.
            current = all(r.status in CURRENT for r in rows if r.is_critical)
            for r in rows:
                if r.is_critical or r.kind == "standard":
                    continue
                if current:
                    r.status, r.due_on, r.via_cluster = c_status, c_due, True
                else:
                    r.status, r.due_on = due_status(r.last_witnessed_on, today=today,
                                                    cycle_years=years, due_soon_days=soon)
                    r.critical_not_current = True
            clusters.append(ClusterRow(standard, cluster, rows, cluster_last, c_status, c_due))
    return Matrix(today, years, soon, clusters)


def _witnessed_elsewhere(areas: ScopeAreas, standard: str, last: dict) -> dict[str, list[date]]:
    """Witness dates of codes of ``standard`` that are not (or no longer) in its scope, by the
    cluster the code belongs to now."""
    area = areas.standards[standard]
    out: dict[str, list[date]] = defaultdict(list)
    for (std, kind, code), on in last.items():
        if std != standard or kind == "standard":
            continue
        if kind == TermKind.iaf_code.value:
            if code in area.codes.get(TermKind.iaf_code, {}):
                continue
            term = areas.term(TermKind.iaf_code, code)
        else:
            if code in area.codes.get(TermKind.food_chain, {}) or \
                    code in area.codes.get(TermKind.md9_area, {}):
                continue
            term = areas.term(TermKind.food_chain, code) or areas.term(TermKind.md9_area, code)
        if term is not None and term.group:
            out[term.group].append(on)
    return out


def overdue_critical(accreditation: Accreditation, *, today: date | None = None) -> list[CodeRow]:
    """The critical codes of a 17021-1 accreditation's live scope that are overdue or were never
    witnessed (rule 34), for the decision screen and reminders; [] for other programmes."""
    if scope_type_of(accreditation) != ScopeType.ms_certification:
        return []
    return matrix(accreditation, today=today).critical_problems


# -- other programmes: the history grouped by area -------------------------------------------


@dataclass
class HistoryRow:
    activity: str
    area: str  # field / discipline (labs, IBs) or scheme / activity (17024, generic)
    count: int
    last_witnessed_on: date


def history(accreditation: Accreditation, areas: ScopeAreas) -> list[HistoryRow]:
    """Witnesses of a non-MS accreditation grouped by activity × scope field / discipline /
    scheme, with their number and last date (counting outcomes only); one query."""
    by_category = areas.scope_type in CATEGORY_FIELD
    column = Witness.category if by_category else Witness.standard
    rows = db.session.execute(
        select(Witness.activity, column, func.count(), func.max(Witness.witnessed_on))
        .where(Witness.accreditation_id == accreditation.id,
               Witness.outcome.in_(COUNTING_OUTCOMES))
        .group_by(Witness.activity, column)).all()
    out: list[HistoryRow] = []
    for activity, key, n, on in rows:
        label = key or "–"
        if by_category:
            term = areas.term(CATEGORY_FIELD[areas.scope_type][1], key or "")
            label = term.name if term is not None else label
        out.append(HistoryRow(activity, label, n, on))
    return sorted(out, key=lambda r: (r.area.lower(), r.activity))


def recent(accreditation: Accreditation, limit: int = 20) -> list[Witness]:
    return list(db.session.execute(
        select(Witness).where(Witness.accreditation_id == accreditation.id)
        .order_by(Witness.witnessed_on.desc(), Witness.id.desc()).limit(limit)).scalars())
