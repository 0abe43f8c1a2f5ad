"""Reading reference lists as a tenant sees them, and loading the platform seed."""

from __future__ import annotations

from sqlalchemy import select

from accreditor.core.tenancy import ALL_TENANTS
from accreditor.extensions import db
from accreditor.refdata import seed
from accreditor.refdata.models import (
    MsStandard,
    Programme,
    RefTerm,
    StandardEdition,
    TermKind,
)


def terms(kind: TermKind | str, *, active_only: bool = True) -> dict[str, RefTerm]:
    """The effective list for the current tenant: its own rows override platform rows by code."""
    stmt = select(RefTerm).where(RefTerm.kind == str(kind))
    if active_only:
        stmt = stmt.where(RefTerm.is_active)
    rows = db.session.execute(stmt.order_by(RefTerm.sort_order, RefTerm.code)).scalars().all()
    out: dict[str, RefTerm] = {}
    for row in sorted(rows, key=lambda r: r.tenant_id is not None):  # platform first, then own
        out[row.code] = row
    return dict(sorted(out.items(), key=lambda kv: (kv[1].sort_order, kv[1].code)))


def programmes(active_only: bool = True) -> list[Programme]:
    stmt = select(Programme).order_by(Programme.sort_order, Programme.code)
    if active_only:
        stmt = stmt.where(Programme.is_active)
    return list(db.session.execute(stmt).scalars())


def programme_by_code(code: str) -> Programme | None:
    rows = db.session.execute(select(Programme).where(Programme.code == code)).scalars().all()
    rows.sort(key=lambda r: r.tenant_id is not None)
    return rows[-1] if rows else None


def editions(programme: Programme) -> list[StandardEdition]:
    return list(db.session.execute(
        select(StandardEdition).where(StandardEdition.programme_id == programme.id)
        .order_by(StandardEdition.edition)
    ).scalars())


def ms_standards() -> list[MsStandard]:
    return list(db.session.execute(
        select(MsStandard).where(MsStandard.is_active).order_by(MsStandard.code)
    ).scalars())


def _upsert(model, key: dict, values: dict):
    row = db.session.execute(
        select(model).filter_by(tenant_id=None, **key).execution_options(**{ALL_TENANTS: True})
    ).scalar_one_or_none()
    if row is None:
        row = model(tenant_id=None, **key, **values)
        db.session.add(row)
        return row, True
    for k, v in values.items():
        setattr(row, k, v)
    return row, False


def load_platform_refdata() -> dict[str, int]:
    """Upsert the platform lists (no tenant scope). Returns how many rows were created."""
    created: dict[str, int] = {}

    def count(name: str, was_created: bool) -> None:
        created[name] = created.get(name, 0) + int(was_created)

    for order, (code, name, standard, stype, ncode, ib, eds) in enumerate(seed.PROGRAMMES):
        prog, new = _upsert(Programme, {"code": code},
                            {"name": name, "standard": standard, "scope_type": stype,
                             "number_code": ncode, "needs_ib_type": ib, "sort_order": order * 10})
        count("programmes", new)
        db.session.flush()
        for edition in eds:
            _, new = _upsert(StandardEdition, {"programme_id": prog.id, "edition": edition},
                             {"is_current": edition == eds[-1]})
            count("editions", new)
    for code, edition, title, classification in seed.MS_STANDARDS:
        _, new = _upsert(MsStandard, {"code": code, "edition": edition},
                         {"title": title, "classification": classification})
        count("ms_standards", new)

    def term(kind, code, name, order, source, group=None, critical=False, extra=None):
        _, new = _upsert(RefTerm, {"kind": kind, "code": code},
                         {"name": name, "group": group, "is_critical": critical,
                          "extra": extra or {}, "source": source, "sort_order": order})
        count(kind, new)

    for code, name, nace, cluster, critical in seed.IAF_CODES:
        term(TermKind.iaf_code, str(code), name, code, seed.IAF_SOURCE, cluster, critical,
             {"nace": nace})
    for i, (code, name, cluster) in enumerate(seed.FOOD_CHAIN):
        term(TermKind.food_chain, code, name, i, seed.FOOD_CHAIN_SOURCE, cluster)
    for i, (code, name) in enumerate(seed.MD9_AREAS):
        term(TermKind.md9_area, code, name, i, seed.MD9_SOURCE)
    for i, name in enumerate(seed.TESTING_FIELDS):
        term(TermKind.testing_field, _code(name), name, i, seed.TESTING_SOURCE)
    for i, (code, name, units) in enumerate(seed.CALIBRATION_DISCIPLINES):
        term(TermKind.calibration_discipline, code, name, i, seed.CALIBRATION_SOURCE,
             extra={"units": units})
    for i, name in enumerate(seed.INSPECTION_FIELDS):
        term(TermKind.inspection_field, _code(name), name, i, seed.INSPECTION_SOURCE)
    for i, name in enumerate(seed.INSPECTION_STAGES):
        term(TermKind.inspection_stage, _code(name), name, i, seed.INSPECTION_SOURCE)
    db.session.flush()
    return created


def _code(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.upper()).strip("-")[:40]


# -- tenant additions -------------------------------------------------------------------------


def add_term(kind: TermKind, *, code: str, name: str, group: str | None = None,
             is_critical: bool = False, extra: dict | None = None) -> RefTerm:
    """Add a term to the current tenant's list (other tenants never see it)."""
    from flask_babel import gettext as _

    from accreditor.core import audit
    from accreditor.core.errors import Conflict, ValidationFailed

    code, name = (code or "").strip(), (name or "").strip()
    if not code or len(code) > 40:
        raise ValidationFailed(_("Give a code of 1 to 40 characters."), field="code")
    if not name:
        raise ValidationFailed(_("Give a name."), field="name")
    if kind == TermKind.iaf_code:
        raise ValidationFailed(_("The IAF code list is fixed (IAF ID 1); change clusters and "
                                 "critical flags instead."), field="code")
    if kind == TermKind.calibration_discipline and not (extra or {}).get("units"):
        raise ValidationFailed(_("List the units this discipline uses."), field="units")
    if code in terms(kind, active_only=False):
        raise Conflict(_("Code %(c)s is already on the list.", c=code), field="code")
    term = RefTerm(kind=str(kind), code=code, name=name, group=(group or "").strip() or None,
                   is_critical=is_critical, extra=extra or {}, source="tenant",
                   sort_order=1000)
    db.session.add(term)
    db.session.flush()
    audit.record("refdata.term_added", term, changes=audit.snapshot(
        term, ("kind", "code", "name", "group", "is_critical")))
    return term


def set_term_grouping(kind: TermKind, code: str, *, group: str | None, is_critical: bool) -> RefTerm:
    """Set the tenant's cluster and critical flag for a term (ABs define their MD 17 clusters):
    edits the tenant's own row, creating it from the platform row the first time."""
    from flask_babel import gettext as _

    from accreditor.core import audit
    from accreditor.core.errors import NotFound

    current = terms(kind, active_only=False).get(code)
    if current is None:
        raise NotFound(_("No such code."))
    if current.tenant_id is None:
        own = RefTerm(kind=current.kind, code=current.code, name=current.name,
                      group=current.group, is_critical=current.is_critical,
                      extra=dict(current.extra or {}), source=current.source,
                      sort_order=current.sort_order, is_active=current.is_active)
        db.session.add(own)
        db.session.flush()
        current = own
    before = {"group": current.group, "is_critical": current.is_critical}
    current.group = (group or "").strip() or None
    current.is_critical = bool(is_critical)
    after = {"group": current.group, "is_critical": current.is_critical}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        db.session.flush()
        audit.record("refdata.term_regrouped", current, changes={"code": [code, code], **changes})
    return current


def add_programme(*, code: str, name: str, standard: str, scope_type: str, number_code: str,
                  edition: str, needs_ib_type: bool = False) -> Programme:
    """Add an accreditation programme as data (e.g. ISO 15189 medical labs, ISO/IEC 17065)."""
    from flask_babel import gettext as _

    from accreditor.core import audit
    from accreditor.core.errors import Conflict, ValidationFailed
    from accreditor.refdata.models import ScopeType

    values = {"code": code, "name": name, "standard": standard, "number_code": number_code,
              "edition": edition}
    for key, value in values.items():
        if not (value or "").strip():
            raise ValidationFailed(_("This field is required."), field=key)
    if scope_type not in {t.value for t in ScopeType}:
        raise ValidationFailed(_("Choose how the scope is structured."), field="scope_type")
    if programme_by_code(code.strip()) is not None:
        raise Conflict(_("Programme %(c)s already exists.", c=code), field="code")
    prog = Programme(code=code.strip(), name=name.strip(), standard=standard.strip(),
                     scope_type=scope_type, number_code=number_code.strip().upper(),
                     needs_ib_type=needs_ib_type, sort_order=500)
    db.session.add(prog)
    db.session.flush()
    db.session.add(StandardEdition(programme_id=prog.id, edition=edition.strip(), is_current=True))
    db.session.flush()
    audit.record("refdata.programme_added", prog, changes=audit.snapshot(
        prog, ("code", "name", "standard", "scope_type", "number_code")))
    return prog
