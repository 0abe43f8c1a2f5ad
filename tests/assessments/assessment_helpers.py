"""Builders for assessment tests: the register rows (profiles, authorisations, declarations) are
created directly with the models, since the register services are written elsewhere."""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from accreditor.assessments import services
from accreditor.assessments.models import (
    AssessorAuthorisation,
    AssessorProfile,
    AuthorisationRole,
    AuthorisationStatus,
    InterestDeclaration,
    TeamRole,
)
from accreditor.core.db import commit, utcnow
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.refdata.services import programme_by_code
from accreditor.scopes.models import ScopeItem
from tests.factories import CAL_LINE, create_accreditation, create_cab, create_member

TODAY = date.today()
START = TODAY + timedelta(days=60)
END = START + timedelta(days=2)


def assessor(tenant, email: str, *, name: str | None = None, organisation: str | None = "NAB",
             monitored_on: date | None = None, role=AuthorisationRole.assessor,
             programme: str = "17025-C", area_kind: str | None = None, areas=(),
             valid_to: date | None = None, status=AuthorisationStatus.approved):
    """A tenant member with an assessor profile and one authorisation."""
    user = create_member(tenant, email, [Role.assessor], name=name or email.split("@")[0])
    with tenant_scope(tenant):
        db.session.add(AssessorProfile(
            user_id=user.id, organisation=organisation,
            last_onsite_monitoring_on=monitored_on if monitored_on is not None
            else TODAY - relativedelta(months=6)))
        if role is not None:
            authorise(user, role=role, programme=programme, area_kind=area_kind, areas=areas,
                      valid_to=valid_to, status=status)
        commit()
    return user


def authorise(user, *, role=AuthorisationRole.assessor, programme: str = "17025-C",
              area_kind: str | None = None, areas=(), valid_from: date | None = None,
              valid_to: date | None = None, status=AuthorisationStatus.approved):
    """Inside a tenant scope: add an authorisation row."""
    auth = AssessorAuthorisation(
        user_id=user.id, role=str(role), programme_id=programme_by_code(programme).id,
        area_kind=area_kind, areas=list(areas),
        valid_from=valid_from or TODAY - relativedelta(years=3), valid_to=valid_to,
        status=str(status), approved_at=utcnow() if status == AuthorisationStatus.approved
        else None)
    db.session.add(auth)
    db.session.flush()
    return auth


def declare(tenant, user, *, kind="consultancy", cab=None, organisation=None,
            started_on: date, ended_on: date | None):
    with tenant_scope(tenant):
        db.session.add(InterestDeclaration(user_id=user.id, kind=kind,
                                           cab_id=cab.id if cab else None,
                                           organisation=organisation, started_on=started_on,
                                           ended_on=ended_on))
        commit()


def cal_setup(tenant, *, legal_name="Precision Metrology Ltd", lines=None, related=None):
    """A CAB with a calibration accreditation and lines (default: one PRES line); returns
    (cab, accreditation, item ids)."""
    cab = create_cab(tenant, legal_name, locations=(("A", "Head office"), ("B", "Annex")),
                     **({"related_bodies": related} if related else {}))
    acc = create_accreditation(tenant, cab, "17025-C", lines=lines or [CAL_LINE])
    with tenant_scope(tenant):
        ids = list(db.session.execute(
            select(ScopeItem.id).where(ScopeItem.accreditation_id == acc.id)
            .order_by(ScopeItem.id)).scalars())
    return cab, acc, ids


def new_assessment(tenant, acc, *, sample=(), start=START, end=END, type="surveillance",
                   mode="onsite", **kw):
    with tenant_scope(tenant):
        a = services.create_assessment(acc, type, mode, start, end, ["A"], **kw)
        if sample:
            services.set_sample(a, sample)
        commit()
    return a


def load(tenant, model, ident):
    with tenant_scope(tenant):
        return db.session.execute(select(model).where(model.id == ident)).scalar_one()


LEAD, ASSESSOR, EXPERT, OBSERVER = (TeamRole.lead, TeamRole.assessor, TeamRole.technical_expert,
                                    TeamRole.observer)
