"""A calibration laboratory granted two lines (schedule issue 1, rendered), its CAB user, a
second CAB of the same tenant with its own user, and helpers to issue further versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from accreditor.core.db import commit
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import ScheduleVersion
from accreditor.decisions.services import issue_schedule
from accreditor.extensions import db
from accreditor.scopes import services as scope_services
from accreditor.scopes.models import Accreditation, ScopeItem
from tests.assessments.assessment_helpers import cal_setup
from tests.factories import CAL_LINE, MASS_LINE, create_cab, create_cab_user, create_member

GRANTED = date.today() - timedelta(days=400)


@dataclass
class Lab:
    tenant: object
    cab: object
    acc_id: int
    item_ids: list
    staff: object
    cab_user: object
    other_cab_user: object

    def acc(self) -> Accreditation:
        return load_acc(self.acc_id)

    def issue(self) -> int:
        """A new schedule issue (as a decision would), committed: its PDFs render."""
        with tenant_scope(self.tenant):
            v = issue_schedule(self.acc(), None)
            commit()
            return v.id

    def suspend_first(self) -> int:
        with tenant_scope(self.tenant):
            scope_services.suspend(self.acc(), item_ids=self.item_ids[:1],
                                   effective_on=date.today())
            v = issue_schedule(self.acc(), None)
            commit()
            return v.id

    def versions(self) -> list[int]:
        with tenant_scope(self.tenant):
            return list(db.session.execute(select(ScheduleVersion.id).where(
                ScheduleVersion.accreditation_id == self.acc_id)
                .order_by(ScheduleVersion.issue_no)).scalars())


def load_acc(ident: int) -> Accreditation:
    from sqlalchemy.orm import joinedload

    return db.session.execute(select(Accreditation).where(Accreditation.id == ident).options(
        joinedload(Accreditation.programme))).scalar_one()


def count(tenant, model, *conds) -> int:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(select(func.count()).select_from(model).where(*conds)
                                  ).scalar_one()


def build_lab(tenant, *, prefix: str = "", grant: bool = True, lines=None) -> Lab:
    cab, acc, ids = cal_setup(tenant, legal_name=f"{prefix}Precision Metrology Ltd",
                              lines=lines or [CAL_LINE, MASS_LINE])
    d = tenant.slug
    staff = create_member(tenant, f"{prefix}manager@{d}.example.org", [Role.manager],
                          name="Mia Manager")
    cab_user = create_cab_user(tenant, cab, f"{prefix}quality@lab.{d}.example.org",
                               name="Quinn Quality")
    other = create_cab(tenant, f"{prefix}Other Lab Ltd")
    other_user = create_cab_user(tenant, other, f"{prefix}someone@other.{d}.example.org",
                                 name="Olga Other")
    lab = Lab(tenant, cab, acc.id, ids, staff, cab_user, other_user)
    if grant:
        with tenant_scope(tenant):
            scope_services.grant(load_acc(acc.id), effective_on=GRANTED, propose=False)
            commit()
        lab.issue()
    return lab


@pytest.fixture
def lab(tenant_a) -> Lab:
    return build_lab(tenant_a)


def line_ids(tenant, acc_id) -> list[int]:
    with tenant_scope(tenant):
        return list(db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == acc_id).order_by(ScopeItem.id)).scalars())


@pytest.fixture(autouse=True)
def _pdfs(render_pdfs):
    """The PDFs of each schedule issue are part of what these tests look at."""
