"""Witness records (rule 35, DOMAIN.md §2.1): recording and correcting them, the live scope
they may concern, and the history of non-MS programmes. The IAF MD 17 matrix of MS CBs
(rule 34) that counts them is :mod:`accreditor.assessments.md17`.

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
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

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
from accreditor.scopes.models import LIVE_ITEM_STATUSES, Accreditation, ItemStatus, ScopeItem

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
WRITERS = (Role.admin, Role.manager)
# The scope-line field that names a lab's / IB's technical area, and its reference list.
CATEGORY_FIELD = {ScopeType.testing: ("field", TermKind.testing_field),
                  ScopeType.calibration: ("discipline", TermKind.calibration_discipline),
                  ScopeType.inspection: ("field", TermKind.inspection_field)}
MAX_LENGTHS = {"standard": 80, "client_name": 250, "category": 40, "place": 250}
MS_KINDS = (("iaf_codes", TermKind.iaf_code), ("food_chain", TermKind.food_chain),
            ("md9_areas", TermKind.md9_area))


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
        .where(ScopeItem.accreditation_id == accreditation.id,
               ScopeItem.status.in_(LIVE_ITEM_STATUSES),
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
