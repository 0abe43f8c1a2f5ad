"""Person-day estimate of an assessment (DOMAIN.md §6): no IAF/ILAC formula exists, so the
factors are the tenant's (``TenantPolicy.effort_factors``), over built-in defaults seeded from
UKAS's published examples. The estimate and the actual are both stored, so a tenant can
calibrate its factors.

    days = base office + base site (per type)
         + Σ distinct technical areas in the sample × unit factor (per scope type)
         + (locations − 1) × per-location factor
         + Σ witnesses × (prep + witnessed + report)   (a witness assessment: at least one)
         + close-out (per type)
         then site days × the remote (or hybrid) factor for remote (hybrid) assessments

An administrator edits the factors on ``/assessments/estimator``; :func:`update_effort_factors`
checks every value and audits the change.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from accreditor.assessments.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    AssessmentType,
    Witness,
)
from accreditor.core import audit
from accreditor.core.errors import ValidationFailed
from accreditor.extensions import db
from accreditor.refdata.models import Programme, ScopeType, TermKind
from accreditor.scopes.models import Accreditation, ScopeItem
from accreditor.tenants.models import TenantPolicy

DEFAULT_FACTORS: dict = {
    # [office days, site days] per assessment type (UKAS small lab / IB examples, §6)
    "base": {
        "document_review": [1.0, 0.0],
        "pre_assessment": [1.5, 2.0],
        "initial": [2.0, 3.0],
        "surveillance": [1.0, 1.5],
        "reassessment": [1.5, 3.0],
        "extension": [1.0, 1.0],
        "follow_up": [0.5, 1.0],
        "special": [0.5, 1.0],
        "witness": [0.25, 0.0],  # coordination; the witnessed activity is per_witness
    },
    # site days per distinct technical area in the sample (technique, CMC discipline,
    # IAF cluster, inspection field, scheme)
    "unit": {"testing": 0.5, "calibration": 0.5, "inspection": 0.5, "ms_certification": 0.5,
             "person_certification": 0.5, "generic": 0.25},
    "per_location": 0.5,  # each location beyond the first
    "per_witness": 1.75,  # 0.5 preparation + 1.0 witnessed + 0.25 report
    "close_out": {"document_review": 0.0, "pre_assessment": 0.0, "initial": 0.75,
                  "reassessment": 0.5, "surveillance": 0.5, "extension": 0.5, "follow_up": 0.25,
                  "special": 0.25, "witness": 0.0},
    "remote_site_factor": 1.0,  # site days done remotely (1.0 = same effort)
    "hybrid_site_factor": 1.0,  # site days of a hybrid assessment
}

SCOPE_TYPE_LABELS = {
    ScopeType.testing: _l("Testing (per testing field)"),
    ScopeType.calibration: _l("Calibration (per discipline)"),
    ScopeType.inspection: _l("Inspection (per inspection field)"),
    ScopeType.ms_certification: _l("Management-system certification (per IAF cluster or "
                                   "category)"),
    ScopeType.person_certification: _l("Person certification (per scheme)"),
    ScopeType.generic: _l("Other programmes (per line area)"),
}

# Limits a value must respect: person-days per factor, and the remote/hybrid multipliers.
MAX_DAYS = Decimal(100)
FACTOR_RANGE = (Decimal("0.1"), Decimal(3))


def factors(policy: TenantPolicy | None) -> dict:
    """The defaults with the tenant's values laid over them (one level deep)."""
    out = copy.deepcopy(DEFAULT_FACTORS)
    for key, value in ((policy.effort_factors if policy else None) or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key].update(value)
        else:
            out[key] = value
    return out


# -- the flat view the settings page edits --------------------------------------------------------


@dataclass(frozen=True)
class FactorField:
    name: str  # form field name
    path: tuple  # where the value sits in the factors dict
    kind: str  # "days" or "multiplier"


def factor_fields() -> list[FactorField]:
    """Every editable factor, in the order the settings page shows them."""
    out: list[FactorField] = []
    for t in AssessmentType:
        out.append(FactorField(f"base_office_{t.value}", ("base", t.value, 0), "days"))
        out.append(FactorField(f"base_site_{t.value}", ("base", t.value, 1), "days"))
        out.append(FactorField(f"close_out_{t.value}", ("close_out", t.value), "days"))
    for st in ScopeType:
        out.append(FactorField(f"unit_{st.value}", ("unit", st.value), "days"))
    out.append(FactorField("per_location", ("per_location",), "days"))
    out.append(FactorField("per_witness", ("per_witness",), "days"))
    out.append(FactorField("remote_site_factor", ("remote_site_factor",), "multiplier"))
    out.append(FactorField("hybrid_site_factor", ("hybrid_site_factor",), "multiplier"))
    return out


def _get(f: dict, path: tuple):
    value = f
    for key in path:
        value = value[key]
    return value


def flat_values(policy: TenantPolicy | None) -> dict[str, Decimal]:
    """The effective factors as ``{field name: Decimal}``."""
    f = factors(policy)
    out = {}
    for spec in factor_fields():
        try:
            value = _d(_get(f, spec.path))
        except (KeyError, IndexError, TypeError, InvalidOperation):
            value = _d(_get(DEFAULT_FACTORS, spec.path))
        out[spec.name] = value.quantize(Decimal("0.01"))
    return out


def _parse(spec: FactorField, raw) -> Decimal:
    text = str(raw if raw is not None else "").strip().replace(",", ".")
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        value = None
    if spec.kind == "multiplier":
        lo, hi = FACTOR_RANGE
        if value is None or not value.is_finite() or not lo <= value <= hi:
            raise ValidationFailed(_("Give a multiplier between %(lo)s and %(hi)s, e.g. 0.8.",
                                     lo=lo, hi=hi), field=spec.name)
    elif value is None or not value.is_finite() or not 0 <= value <= MAX_DAYS:
        raise ValidationFailed(_("Give a number of person-days between 0 and %(max)s, e.g. "
                                 "1.5.", max=MAX_DAYS), field=spec.name)
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed(_("Use at most two decimals."), field=spec.name)
    return value.quantize(Decimal("0.01"))


def clean_factors(raw: dict) -> dict:
    """The nested factors dict from the page's values; raises ValidationFailed naming the first
    field that is not a usable number, or an assessment type with no effort at all."""
    values = {spec.name: _parse(spec, raw.get(spec.name)) for spec in factor_fields()}
    for t in AssessmentType:
        if values[f"base_office_{t.value}"] + values[f"base_site_{t.value}"] == 0:
            raise ValidationFailed(_("An assessment type needs some office or site days."),
                                   field=f"base_office_{t.value}")
    out: dict = {"base": {}, "unit": {}, "close_out": {}}
    for t in AssessmentType:
        out["base"][t.value] = [float(values[f"base_office_{t.value}"]),
                                float(values[f"base_site_{t.value}"])]
        out["close_out"][t.value] = float(values[f"close_out_{t.value}"])
    for st in ScopeType:
        out["unit"][st.value] = float(values[f"unit_{st.value}"])
    for key in ("per_location", "per_witness", "remote_site_factor", "hybrid_site_factor"):
        out[key] = float(values[key])
    return out


def update_effort_factors(policy: TenantPolicy, raw: dict | None) -> dict:
    """Set the tenant's estimator factors (``raw`` = the page's values; None = back to the
    built-in defaults). Checks every value; audits the factors that changed. Stored estimates
    are not rewritten: a plan's estimate is recomputed when the plan changes."""
    before = flat_values(policy)
    if raw is None:
        new = None
    else:
        new = clean_factors(raw)
        if new == clean_factors({k: str(v) for k, v in flat_values(None).items()}):
            new = None  # the defaults: keep following them if they change
    policy.effort_factors = new
    after = flat_values(policy)
    changes = {name: [str(before[name]), str(after[name])]
               for name in before if before[name] != after[name]}
    if changes:
        db.session.flush()
        audit.record("tenant.effort_factors_updated", policy, changes=changes)
    return changes


# -- the estimate -------------------------------------------------------------------------------


@dataclass
class Estimate:
    days: Decimal
    lines: list[tuple[str, Decimal]] = field(default_factory=list)
    units: list[str] = field(default_factory=list)  # the technical areas counted
    customised: bool = False  # the tenant set its own factors


def _d(value) -> Decimal:
    return Decimal(str(value))


def _units(scope_type: ScopeType, rows: list[dict]) -> set[str]:
    from accreditor.assessments.team import item_areas

    units: set[str] = set()
    clusters: dict[str, str] = {}
    if scope_type == ScopeType.ms_certification:
        from accreditor.refdata import services as refdata

        clusters = {c: t.group for c, t in refdata.terms(TermKind.iaf_code).items() if t.group}
    for fields in rows:
        for kind, code in item_areas(scope_type, fields):
            if kind == TermKind.iaf_code.value and code in clusters:
                units.add(f"cluster:{clusters[code]}")
            else:
                units.add(f"{kind}:{code}")
    return units


def estimate_days(assessment: Assessment) -> Estimate:
    """The estimate with its breakdown (label naming the factor used, days), from the tenant's
    factors."""
    policy = TenantPolicy.current()
    f = factors(policy)
    scope_type = ScopeType(db.session.execute(
        select(Programme.scope_type).join(Accreditation,
                                          Accreditation.programme_id == Programme.id)
        .where(Accreditation.id == assessment.accreditation_id)).scalar_one())
    rows = db.session.execute(
        select(ScopeItem.fields).join(AssessmentItem, AssessmentItem.scope_item_id == ScopeItem.id)
        .where(AssessmentItem.assessment_id == assessment.id)).scalars().all() \
        if assessment.id else []
    witnesses = db.session.execute(
        select(func.count()).select_from(Witness).where(Witness.assessment_id == assessment.id)
    ).scalar_one() if assessment.id else 0

    office, site = (_d(x) for x in f["base"].get(assessment.type, [1.0, 1.0]))
    kind = assessment.type.replace("_", " ")
    lines: list[tuple[str, Decimal]] = [
        (_("Base office days (%(t)s)", t=kind), office),
        (_("Base site days (%(t)s)", t=kind), site)]
    units = _units(scope_type, rows)
    unit_factor = _d(f["unit"].get(scope_type.value, 0.5))
    unit_days = unit_factor * len(units)
    lines.append((_("Technical areas in the sample: %(n)d × %(f)s", n=len(units), f=unit_factor),
                  unit_days))
    extra_locations = max(0, len(assessment.location_codes or []) - 1)
    loc_factor = _d(f["per_location"])
    loc_days = loc_factor * extra_locations
    lines.append((_("Locations beyond the first: %(n)d × %(f)s", n=extra_locations,
                    f=loc_factor), loc_days))
    witness_factor = _d(f["per_witness"])
    if assessment.type == AssessmentType.witness and witnesses < 1:
        # A witness assessment observes at least one CAB activity (UKAS: each witnessed
        # assessment 0.5 office + 1.0 site + 0.25 close-out, DOMAIN.md §6), planned before
        # its witness record exists.
        witnesses = 1
        label = _("Witnessed activities: %(n)d × %(f)s (a witness assessment plans at least "
                  "one; none recorded yet)", n=witnesses, f=witness_factor)
    else:
        label = _("Witnessed activities: %(n)d × %(f)s", n=witnesses, f=witness_factor)
    witness_days = witness_factor * witnesses
    lines.append((label, witness_days))
    close_out = _d(f["close_out"].get(assessment.type, 0))
    lines.append((_("Close-out (review of evidence)"), close_out))
    site_total = site + unit_days + loc_days
    key = {AssessmentMode.remote.value: "remote_site_factor",
           AssessmentMode.hybrid.value: "hybrid_site_factor"}.get(assessment.mode)
    if key:
        factor = _d(f.get(key, 1))
        if factor != 1:
            lines.append((_("Site days %(m)s: %(d)s × %(f)s", m=assessment.mode, d=site_total,
                            f=factor), site_total * factor - site_total))
    total = sum((d for _label, d in lines), Decimal(0))
    total = total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Estimate(total, lines, units=sorted(u.split(":", 1)[1] if ":" in u else u
                                               for u in units),
                    customised=bool(policy and policy.effort_factors))
