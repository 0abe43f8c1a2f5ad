"""A calibration laboratory with an assessment in progress, its team (lead, assessor, technical
expert, observer), a CAB user, and a manager: what the findings tests build on."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import FileStorage

from accreditor.assessments.models import Assessment, TeamAssignment
from accreditor.core.db import commit
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.findings import services
from accreditor.findings.models import Finding, FindingGrade, FindingResponse
from accreditor.scopes import services as scope_services
from accreditor.scopes.models import Accreditation
from tests.assessments.assessment_helpers import (
    ASSESSOR,
    EXPERT,
    LEAD,
    OBSERVER,
    assessor,
    cal_setup,
    new_assessment,
)
from tests.documents.helpers import PDF
from tests.factories import create_cab_user, create_member

STANDARD = "ISO/IEC 17025:2017"
# The CAB's default answer (World.respond): a full one, as a major finding needs (rule 15).
CORRECTION = "Balance withdrawn from use."
CAUSE = "The recall list was not maintained."
ACTION = "Monthly recall review."


def evidence(name: str = "recall-list.pdf", content: bytes = PDF) -> FileStorage:
    """An evidence file as an upload hands it to the services."""
    return FileStorage(io.BytesIO(content), filename=name, content_type="application/pdf")


def _id(finding: Finding | int) -> int:
    return finding if isinstance(finding, int) else finding.id


@dataclass
class World:
    tenant: object
    cab: object
    acc: object
    item_ids: list
    assessment: Assessment
    lead: object
    assessor: object
    expert: object
    observer: object
    outsider: object  # an assessor of the tenant who is not on this team
    cab_user: object
    manager: object

    def grade(self, key: str) -> int:
        with tenant_scope(self.tenant):
            services.active_grades()
            commit()
            return db.session.execute(select(FindingGrade.id).where(
                FindingGrade.key == key, FindingGrade.is_active)).scalar_one()

    def raise_finding(self, grade: str = "major", *, by=None, **kw) -> Finding:
        data = {"grade_id": self.grade(grade), "standard": STANDARD, "clause": "6.4",
                "statement": "The balance used for mass calibration was not calibrated.",
                "objective_evidence": "Balance B-12: calibration certificate expired 2025-03.",
                "item_ids": self.item_ids[:1], "location_codes": ["A"]}
        data.update(kw)
        with tenant_scope(self.tenant):
            a = load_assessment(self.assessment.id)
            f = services.raise_finding(a, raised_by_id=(by or self.lead).id, **data)
            commit()
            return f

    def issue(self, *, today: date | None = None) -> None:
        """Issue the report (and so the findings) as the system."""
        with tenant_scope(self.tenant):
            a = load_assessment(self.assessment.id)
            services.issue_findings(a, today=today)
            a.status = "report_issued"
            commit()

    def load(self, finding_id: int) -> Finding:
        """The finding as stored now (pages and services wrote it through other sessions)."""
        db.session.expire_all()
        return load_finding(self.tenant, finding_id)

    def respond(self, finding: Finding | int, **kw) -> FindingResponse:
        """The CAB's answer as the system, on behalf of the CAB user: a full answer with one
        PDF unless ``kw`` says otherwise (``files=[]``, ``correction=None`` …)."""
        data = {"response_type": "actions_completed", "correction": CORRECTION,
                "cause_analysis": CAUSE, "corrective_action": ACTION, "files": [evidence()]}
        data.update(kw)
        db.session.expire_all()
        with tenant_scope(self.tenant):
            response = services.submit_response(load_finding(self.tenant, _id(finding)),
                                                submitted_by_id=self.cab_user.id, **data)
            commit()
            return response

    def review(self, finding: Finding | int, accept: bool, note: str | None = None, *,
               today: date | None = None) -> Finding:
        """The team's review of the latest answer, as the system; returns the finding after."""
        db.session.expire_all()
        with tenant_scope(self.tenant):
            services.review_response(load_finding(self.tenant, _id(finding)), accept=accept,
                                     note=note, today=today)
            commit()
        return self.load(_id(finding))


def load_assessment(ident: int) -> Assessment:
    return db.session.execute(select(Assessment).where(Assessment.id == ident)).scalar_one()


def load_accreditation(ident: int) -> Accreditation:
    return db.session.execute(
        select(Accreditation).where(Accreditation.id == ident)
        .options(joinedload(Accreditation.programme))).scalar_one()


def load_finding(tenant, ident: int) -> Finding:
    with tenant_scope(tenant):
        return db.session.execute(select(Finding).where(Finding.id == ident)).scalar_one()


def build_world(tenant, *, prefix: str = "", legal_name: str = "Precision Metrology Ltd",
                accredited: bool = True) -> World:
    """``accredited``: the lines were granted two years ago (False: an applicant)."""
    cab, acc, ids = cal_setup(tenant, legal_name=legal_name)
    if accredited:
        with tenant_scope(tenant):
            scope_services.grant(load_accreditation(acc.id),
                                 effective_on=date.today() - timedelta(days=730), propose=False)
            commit()
    a = new_assessment(tenant, acc, sample=ids, start=date.today() - timedelta(days=2),
                       end=date.today() + timedelta(days=1))
    d = tenant.slug
    lead = assessor(tenant, f"{prefix}lead@{d}.example.org", name="Lena Lead")
    member = assessor(tenant, f"{prefix}assessor@{d}.example.org", name="Asa Assessor")
    expert = assessor(tenant, f"{prefix}expert@{d}.example.org", name="Ted Expert")
    observer = assessor(tenant, f"{prefix}observer@{d}.example.org", name="Olly Observer")
    outsider = assessor(tenant, f"{prefix}outsider@{d}.example.org", name="Otto Outsider")
    with tenant_scope(tenant):
        for user, role in ((lead, LEAD), (member, ASSESSOR), (expert, EXPERT),
                           (observer, OBSERVER)):
            db.session.add(TeamAssignment(assessment_id=a.id, cab_id=cab.id, user_id=user.id,
                                          role=role.value))
        load_assessment(a.id).status = "in_progress"
        commit()
    cab_user = create_cab_user(tenant, cab, f"{prefix}quality@lab.{d}.example.org",
                               name="Quinn Quality")
    manager = create_member(tenant, f"{prefix}manager@{d}.example.org", [Role.manager],
                            name="Mia Manager")
    return World(tenant, cab, acc, ids, a, lead, member, expert, observer, outsider, cab_user,
                 manager)


@pytest.fixture
def world(tenant_a) -> World:
    return build_world(tenant_a)
