"""An accreditation with a reported assessment, its team, and independent decision makers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions import services
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation
from tests.factories import create_member
from tests.findings.conftest import build_world, load_assessment

TODAY = date.today()


def reported(world, *, recommendation: str = "maintain", type_: str | None = None) -> None:
    """The world's assessment: report issued with the team's recommendation."""
    with tenant_scope(world.tenant):
        a = load_assessment(world.assessment.id)
        a.status = "report_issued"
        a.report_summary = "The laboratory meets the requirements for the sampled scope."
        a.recommendation = recommendation
        if type_:
            a.type = type_
        commit()


def acc_of(world) -> Accreditation:
    return db.session.execute(select(Accreditation).where(
        Accreditation.id == world.acc.id)).scalar_one()


def decide(world, maker, kind: str, **kw):
    data = {"kind": kind, "rationale": "Independent review of the report and the findings.",
            "effective_on": TODAY, "maker_ids": [maker.id],
            "input_ids": [world.assessment.id], "assessment_id": world.assessment.id}
    data.update(kw)
    if not data["input_ids"]:
        data["assessment_id"] = None  # a decision on no report (a financial suspension …)
    with tenant_scope(world.tenant):
        d = services.record_decision(acc_of(world), **data)
        commit()
        return d


@pytest.fixture
def decider(tenant_a):
    return create_member(tenant_a, "decider@alpha.example.org", [Role.decision_maker],
                         name="Dora Decider")


@pytest.fixture
def world(tenant_a):
    return build_world(tenant_a)


@pytest.fixture
def applicant(tenant_a):
    return build_world(tenant_a, prefix="app-", legal_name="New Lab Ltd", accredited=False)
