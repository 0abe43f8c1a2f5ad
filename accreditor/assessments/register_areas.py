"""Technical areas of assessor authorisations: which reference lists a programme's
authorisations may name areas from, the lists offered as help, and :func:`clean_areas`, which
checks an authorisation's areas.

Areas are checked against the programme's reference lists (``team.AREA_FIELDS`` says which
lists a programme's scope lines use; IAF clusters are written ``cluster:<name>``; 17024 schemes
are the schemes named on the tenant's 17024 scope lines, as no reference list of schemes exists).
Unknown areas are refused by name.
"""

from __future__ import annotations

from collections import defaultdict

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accreditor.assessments.team import AREA_FIELDS, CLUSTER_PREFIX
from accreditor.core.errors import ValidationFailed
from accreditor.extensions import db
from accreditor.refdata.models import Programme, RefTerm, ScopeType, TermKind
from accreditor.scopes import services as scope_services
from accreditor.scopes.models import LIVE_ITEM_STATUSES, Accreditation, ScopeItem
from accreditor.scopes.schemas import split_multi

SCHEME = "scheme"

AREA_KIND_LABELS = {
    TermKind.iaf_code.value: _l("IAF codes or clusters"),
    TermKind.food_chain.value: _l("Food-chain categories (ISO/TS 22003-1)"),
    TermKind.md9_area.value: _l("MD 9 technical areas"),
    TermKind.testing_field.value: _l("Fields of testing"),
    TermKind.calibration_discipline.value: _l("Calibration disciplines"),
    TermKind.inspection_field.value: _l("Fields of inspection"),
    SCHEME: _l("Certification schemes (ISO/IEC 17024)"),
}
WHOLE_PROGRAMME = _l("Whole programme")


def area_kinds(programme: Programme) -> list[str]:
    """The lists a programme's authorisations may name areas from (none: whole programme)."""
    return [kind for kind, _field in AREA_FIELDS.get(ScopeType(programme.scope_type), ())]


def _schemes(programme_ids: list[int]) -> list[str]:
    """17024 schemes named on the tenant's live scope lines of the programmes — never a draft
    application's line or a refused or withdrawn one (one query)."""
    scheme = ScopeItem.fields[SCHEME].as_string()
    return sorted({s.strip() for s in db.session.execute(
        select(scheme).distinct()
        .join(Accreditation, Accreditation.id == ScopeItem.accreditation_id)
        .where(Accreditation.programme_id.in_(programme_ids), scheme.is_not(None),
               ScopeItem.status.in_(LIVE_ITEM_STATUSES), scope_services.line_visible_to_staff())
    ).scalars() if s and s.strip()}) if programme_ids else []


def _terms(kinds: list[str]) -> dict[str, dict[str, RefTerm]]:
    """The effective reference lists of ``kinds`` in one query (tenant rows override)."""
    rows = db.session.execute(
        select(RefTerm).where(RefTerm.kind.in_(kinds), RefTerm.is_active)
        .order_by(RefTerm.sort_order, RefTerm.code)).scalars().all() if kinds else []
    out: dict[str, dict[str, RefTerm]] = defaultdict(dict)
    for row in sorted(rows, key=lambda r: r.tenant_id is not None):
        out[row.kind][row.code] = row
    return {k: dict(sorted(v.items(), key=lambda kv: (kv[1].sort_order, kv[1].code)))
            for k, v in out.items()}


def reference_lists(programmes: list[Programme]) -> dict[str, list[tuple[str, str]]]:
    """Per area kind, the (code, label) pairs an authorisation may name, for the page's help:
    three queries at most whatever the number of programmes."""
    kinds = sorted({k for p in programmes for k in area_kinds(p)})
    terms = _terms([k for k in kinds if k != SCHEME])
    out: dict[str, list[tuple[str, str]]] = {}
    for kind in kinds:
        if kind == SCHEME:
            out[kind] = [(s, s) for s in _schemes(
                [p.id for p in programmes if SCHEME in area_kinds(p)])]
            continue
        listed = terms.get(kind, {})
        pairs = [(code, t.name) for code, t in listed.items()]
        if kind == TermKind.iaf_code.value:
            groups = sorted({t.group for t in listed.values() if t.group})
            pairs += [(CLUSTER_PREFIX + g, _("cluster %(g)s", g=g)) for g in groups]
        out[kind] = pairs
    return out


def _lookup(programme: Programme, kind: str) -> dict[str, str]:
    """Lower-cased code, name or cluster → the code stored."""
    if kind == SCHEME:
        return {s.lower(): s for s in _schemes([programme.id])}
    listed = _terms([kind]).get(kind, {})
    out = {t.name.lower(): code for code, t in listed.items()}
    out.update({code.lower(): code for code in listed})
    if kind == TermKind.iaf_code.value:
        out.update({(CLUSTER_PREFIX + t.group).lower(): CLUSTER_PREFIX + t.group
                    for t in listed.values() if t.group})
    return out


def clean_areas(programme: Programme, area_kind: str | None, areas) -> tuple[str | None, list]:
    """Check the areas against the programme's reference list; unknown ones are refused by
    name. No list and no areas: the whole programme."""
    kind = (area_kind or "").strip() or None
    values = split_multi(areas)
    if kind is None:
        if values:
            raise ValidationFailed(_("Choose the list the technical areas come from, or leave "
                                     "the areas empty to authorise the whole programme."),
                                   field="area_kind")
        return None, []
    allowed = area_kinds(programme)
    if kind not in allowed:
        names = ", ".join(str(AREA_KIND_LABELS[k]) for k in allowed)
        raise ValidationFailed(
            _("%(p)s authorisations do not use %(k)s; choose %(allowed)s.", p=programme.code,
              k=str(AREA_KIND_LABELS.get(kind, kind)),
              allowed=(names + _(" or the whole programme")) if names
              else _("the whole programme")), field="area_kind")
    if not values:
        raise ValidationFailed(_("Name at least one technical area, or choose the whole "
                                 "programme."), field="areas")
    lookup = _lookup(programme, kind)
    clean: list[str] = []
    unknown: list[str] = []
    for v in values:
        key = v.lower()
        if key.startswith(CLUSTER_PREFIX):
            key = CLUSTER_PREFIX + key.removeprefix(CLUSTER_PREFIX).strip()
        code = lookup.get(key)
        if code is None:
            unknown.append(v)
        elif code not in clean:
            clean.append(code)
    if unknown:
        raise ValidationFailed(
            _("Not in the list of %(k)s for %(p)s: %(codes)s.",
              k=str(AREA_KIND_LABELS[kind]), p=programme.code, codes=", ".join(unknown)),
            field="areas")
    return kind, clean
