"""Tenant isolation: the model check, the ORM filter, the write guard and the every-route walker."""

from __future__ import annotations

import importlib
import io

import pytest
from flask import Blueprint, abort, g
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from accreditor import create_app
from accreditor.auth.models import Membership, User
from accreditor.core.audit import AuditEvent
from accreditor.core.db import Base, commit, utcnow
from accreditor.core.mail import OutboxMessage
from accreditor.core.permissions import Role
from accreditor.core.tenancy import (
    ALL_TENANTS,
    CabScoped,
    CrossTenantWrite,
    TenantExtensible,
    TenantScoped,
    get_scoped_or_404,
    tenant_scope,
)
from accreditor.documents.services import store_upload
from accreditor.extensions import db
from tests.conftest import PASSWORD, FreshContextClient
from tests.core.isolation import walk

B_MARKERS = ["Bravo Accreditation Bureau", "admin@bravo.example.org", "bravo-only-marker"]


def test_every_model_with_a_tenant_id_column_is_tenant_scoped():
    from accreditor.directory.models import DirectorySearch, DirectorySearchCount

    # The search index holds only published (public) data and is read across tenants by design
    # (/directory, /api/v1/accreditations); only directory.search reads or writes it.
    exempt = {DirectorySearch, DirectorySearchCount}
    offenders = [
        m.class_.__name__
        for m in Base.registry.mappers
        if "tenant_id" in m.local_table.columns
        and not issubclass(m.class_, TenantScoped | TenantExtensible)
        and m.class_ not in exempt
    ]
    assert offenders == [], f"models with tenant_id but not TenantScoped: {offenders}"


def test_every_model_with_a_cab_id_column_is_cab_scoped():
    from accreditor.auth.models import Membership

    exempt = {Membership}  # a membership names the CAB a user is bound to; staff rows too
    offenders = [
        m.class_.__name__
        for m in Base.registry.mappers
        if "cab_id" in m.local_table.columns
        and not issubclass(m.class_, CabScoped)
        and m.class_ not in exempt
    ]
    assert offenders == [], f"models with cab_id but not CabScoped: {offenders}"


def test_queries_see_only_the_current_tenants_rows(tenant_a, tenant_b, admin_a, admin_b):
    with tenant_scope(tenant_a):
        emails = {m.user_id for m in db.session.execute(select(Membership)).scalars()}
        assert emails == {admin_a.id}
    with tenant_scope(tenant_b):
        emails = {m.user_id for m in db.session.execute(select(Membership)).scalars()}
        assert emails == {admin_b.id}


def test_joined_and_related_loads_are_filtered_too(tenant_a, tenant_b, admin_a, admin_b):
    with tenant_scope(tenant_a):
        rows = db.session.execute(
            select(User.email).join(Membership, Membership.user_id == User.id)
        ).scalars().all()
    assert rows == [admin_a.email]


def test_without_a_tenant_scope_tenant_rows_are_invisible(admin_a, admin_b):
    assert db.session.execute(select(Membership)).scalars().all() == []


def test_explicit_opt_out_sees_every_tenant(admin_a, admin_b):
    rows = db.session.execute(
        select(Membership).execution_options(**{ALL_TENANTS: True})
    ).scalars().all()
    assert {r.user_id for r in rows} == {admin_a.id, admin_b.id}


def test_get_scoped_or_404_refuses_another_tenants_row_even_from_the_identity_map(
    app, tenant_a, tenant_b, admin_b
):
    with tenant_scope(tenant_b):
        b_membership = db.session.execute(select(Membership)).scalar_one()
    # The object now sits in the identity map; Session.get would return it without SQL.
    assert db.session.get(Membership, b_membership.id) is b_membership
    from werkzeug.exceptions import NotFound

    with tenant_scope(tenant_a), pytest.raises(NotFound):
        get_scoped_or_404(Membership, b_membership.id)


def test_writing_another_tenants_row_raises(tenant_a, tenant_b, admin_b):
    with tenant_scope(tenant_b):
        b_membership = db.session.execute(select(Membership)).scalar_one()
    with tenant_scope(tenant_a):
        b_membership.is_active = False
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
    db.session.rollback()


def test_creating_a_row_for_another_tenant_raises(tenant_a, tenant_b, admin_a):
    with tenant_scope(tenant_a):
        db.session.add(Membership(user_id=admin_a.id, tenant_id=tenant_b.id))
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
    db.session.rollback()


def test_new_rows_take_the_current_tenant(tenant_a, make_user):
    user = make_user(tenant_a, "someone@alpha.example.org", [Role.assessor])
    with tenant_scope(tenant_a):
        m = db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalar_one()
        assert m.tenant_id == tenant_a.id
        assert {r.tenant_id for r in m.role_rows} == {tenant_a.id}


def test_tenant_rows_cannot_be_written_outside_any_tenant_scope(tenant_a, admin_a):
    db.session.add(Membership(user_id=admin_a.id))
    with pytest.raises(CrossTenantWrite):
        db.session.flush()
    db.session.rollback()


# -- the every-route walker -------------------------------------------------------------------


@pytest.fixture
def two_tenants(tenant_a, tenant_b, make_user, client, login_as):
    """Tenant A user holding every role; tenant B with objects of every kind the routes take."""
    user_a = make_user(tenant_a, "everything@alpha.example.org", list(Role), name="Eve Everything")
    make_user(tenant_b, "admin@bravo.example.org", [Role.admin], name="bravo-only-marker admin")
    # Tenant B activity: an invitation (membership, outbox mail, audit events).
    login_as(db.session.execute(
        select(User).where(User.email == "admin@bravo.example.org")).scalar_one())
    resp = client.post("/bravo/settings/users/invite",
                       data={"email": "invitee@bravo.example.org", "name": "bravo-only-marker",
                             "roles": ["assessor"]})
    assert resp.status_code == 302
    with tenant_scope(tenant_b):
        b_membership = db.session.execute(
            select(Membership).order_by(Membership.id.desc())
        ).scalars().first()
        b_event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    b_message = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.to == "invitee@bravo.example.org")
    ).scalar_one()
    objects = cab_objects(tenant_b, "bravo-only-marker CAB", "bravo-only-marker")
    fillers = {
        "tenant_slug": lambda: tenant_b.slug,
        "membership_id": lambda: b_membership.id,
        "message_id": lambda: b_message.id,
        "event_id": lambda: b_event.id,
        "token": lambda: "not-a-real-token",
        "filename": lambda: "css/app.css",
        **{k: (lambda v=v: v) for k, v in objects.items()},
    }
    return user_a, fillers


def cab_objects(tenant, legal_name: str, marker: str) -> dict:
    """One object of every CAB-level kind the routes take, in ``tenant``; returns their ids by
    URL argument name."""
    from accreditor.applications import services as applications
    from accreditor.applications.models import ApplicationType
    from accreditor.cabs import services as cabs
    from accreditor.refdata import services as refdata
    from accreditor.refdata.models import TermKind
    from accreditor.scopes import services as scopes
    from tests.factories import CAL_LINE

    with tenant_scope(tenant):
        cab = cabs.create_cab(legal_name=legal_name, country="GB", trading_names=[marker])
        location = cabs.add_location(cab, code="A", name=f"{marker} lab", address="1 Road",
                                     country="GB")
        contact = cabs.add_contact(cab, name=f"{marker} contact", email="c@example.org")
        acc = scopes.create_accreditation(cab, refdata.programme_by_code("17025-C"))
        item = scopes.add_scope_item(acc, {**CAL_LINE, "quantity": f"{marker} gauges"})
        app = applications.start_application(
            cab, type=ApplicationType.initial, programme=refdata.programme_by_code("17025-T"),
            summary=f"{marker} application")
        refdata.add_term(TermKind.testing_field, code="MARKER", name=f"{marker} field")
        commit()
    ids = {"cab_id": cab.id, "location_id": location.id, "contact_id": contact.id,
           "accreditation_id": acc.id, "item_id": item.id, "application_id": app.id,
           "kind": TermKind.testing_field.value, "code": "MARKER"}
    with tenant_scope(tenant):
        doc = store_upload(FileStorage(io.BytesIO(f"{marker} evidence".encode()),
                                       filename=f"{marker}.txt"),
                           owner_type="application", owner_id=app.id, cab_id=cab.id)
        commit()
    ids["document_id"] = doc.id
    ids.update(_assessment_objects(tenant, cab, acc, item, marker))
    return ids


def _assessment_objects(tenant, cab, acc, item, marker: str) -> dict:
    """An assessor (profile, authorisation, declaration) and an assessment with a sample, a
    team, an objection and a witness record, built straight from the models."""
    from datetime import date, timedelta

    from accreditor.assessments.models import (
        Assessment,
        AssessmentItem,
        AssessorAuthorisation,
        AssessorProfile,
        InterestDeclaration,
        TeamAssignment,
        TeamObjection,
        Witness,
    )
    from tests.factories import create_member

    assessor = create_member(tenant, f"{marker}-assessor@example.org", [Role.assessor],
                             name=f"{marker} assessor")
    start = date.today() + timedelta(days=30)
    with tenant_scope(tenant):
        db.session.add(AssessorProfile(user_id=assessor.id, organisation=f"{marker} org"))
        authorisation = AssessorAuthorisation(
            user_id=assessor.id, role="lead", programme_id=acc.programme_id,
            valid_from=date(2020, 1, 1), status="approved", approved_at=utcnow(),
            notes=f"{marker} authorisation")
        declaration = InterestDeclaration(
            user_id=assessor.id, kind="consultancy", cab_id=cab.id, started_on=date(2020, 1, 1),
            description=f"{marker} declaration")
        assessment = Assessment(
            cab_id=cab.id, accreditation_id=acc.id, type="surveillance", mode="onsite",
            status="team_proposed", planned_start_on=start,
            planned_end_on=start + timedelta(days=1), agenda=f"{marker} agenda",
            internal_notes=f"{marker} internal")
        db.session.add_all([authorisation, declaration, assessment])
        db.session.flush()
        db.session.add_all([
            AssessmentItem(cab_id=cab.id, assessment_id=assessment.id, scope_item_id=item.id),
            TeamAssignment(cab_id=cab.id, assessment_id=assessment.id, user_id=assessor.id,
                           role="lead"),
        ])
        objection = TeamObjection(cab_id=cab.id, assessment_id=assessment.id,
                                  user_id=assessor.id, reason=f"{marker} objection")
        witness = Witness(cab_id=cab.id, accreditation_id=acc.id, assessment_id=assessment.id,
                          activity="calibration", cab_personnel=f"{marker} technician",
                          extent="full", mode="onsite", witnessed_on=date(2025, 5, 1))
        db.session.add_all([objection, witness])
        commit()
    ids = {"assessment_id": assessment.id, "authorisation_id": authorisation.id,
           "declaration_id": declaration.id, "witness_id": witness.id,
           "objection_id": objection.id, "user_id": assessor.id}
    ids.update(_finding_objects(tenant, cab, acc, assessment, assessor, marker))
    ids.update(_decision_objects(tenant, cab, acc, assessment, assessor, marker))
    # Each later area builds its own objects (tests/<area>/objects.py) from those above.
    for area in ("certificates", "directory", "complaints", "appeals"):
        module = importlib.import_module(f"tests.{area}.objects")
        ids.update(module.tenant_objects(tenant, cab, acc, assessment, assessor, marker, ids))
    return ids


def _finding_objects(tenant, cab, acc, assessment, assessor, marker: str) -> dict:
    """A grade, an issued finding answered once (with an evidence file) and a sanction proposal,
    built straight from the models."""
    from datetime import date, timedelta

    from accreditor.findings.models import (
        Finding,
        FindingGrade,
        FindingResponse,
        SanctionProposal,
    )

    with tenant_scope(tenant):
        grade = FindingGrade(scheme="anab", key="major", label=f"{marker} grade",
                             severity="major")
        db.session.add(grade)
        db.session.flush()
        finding = Finding(
            cab_id=cab.id, assessment_id=assessment.id, accreditation_id=acc.id, seq=1,
            grade_id=grade.id, grade_label=f"{marker} grade", severity="major",
            response_due_days=30, evidence_due_days=90, standard="ISO/IEC 17025:2017",
            clause="6.4", statement=f"{marker} statement", objective_evidence=f"{marker} seen",
            status="responded", raised_by_id=assessor.id, raised_as="lead", round=1,
            issued_at=utcnow(), response_due_on=date.today() + timedelta(days=30),
            evidence_due_on=date.today() + timedelta(days=90))
        db.session.add(finding)
        db.session.flush()
        response = FindingResponse(cab_id=cab.id, finding_id=finding.id, round=1,
                                   response_type="plan_only",
                                   corrective_action=f"{marker} corrective action",
                                   submitted_by_id=assessor.id)
        proposal = SanctionProposal(cab_id=cab.id, accreditation_id=acc.id,
                                    finding_id=finding.id, kind="suspension",
                                    source="critical_finding", effective_on=date.today(),
                                    due_on=date.today(),
                                    reason=f"{marker} proposal")
        db.session.add_all([response, proposal])
        db.session.flush()
        store_upload(FileStorage(io.BytesIO(f"{marker} finding evidence".encode()),
                                 filename=f"{marker}-evidence.txt"),
                     owner_type="finding_response", owner_id=response.id, cab_id=cab.id)
        commit()
    return {"finding_id": finding.id, "grade_id": grade.id, "proposal_id": proposal.id,
            "response_id": response.id}


def _decision_objects(tenant, cab, acc, assessment, maker, marker: str) -> dict:
    """A decision citing the assessment, and the schedule version it issued, built straight
    from the models."""
    from datetime import date

    from accreditor.decisions.models import (
        Decision,
        DecisionInput,
        DecisionMaker,
        ScheduleVersion,
    )

    with tenant_scope(tenant):
        decision = Decision(cab_id=cab.id, accreditation_id=acc.id, kind="maintain",
                            rationale=f"{marker} rationale", effective_on=date.today(),
                            assessment_id=assessment.id, schedule_issue=1)
        db.session.add(decision)
        db.session.flush()
        version = ScheduleVersion(
            cab_id=cab.id, accreditation_id=acc.id, issue_no=1, issued_on=date.today(),
            decision_id=decision.id, status="accredited",
            lines=[{"id": 0, "position": 1, "status": "accredited",
                    "summary": f"{marker} line", "fields": {}}])
        db.session.add_all([
            version,
            DecisionMaker(cab_id=cab.id, decision_id=decision.id, user_id=maker.id),
            DecisionInput(cab_id=cab.id, decision_id=decision.id,
                          assessment_id=assessment.id)])
        from accreditor.decisions.models import CabRequest

        cab_request = CabRequest(cab_id=cab.id, accreditation_id=acc.id, kind="inactive",
                                 reason=f"{marker} request")
        db.session.add(cab_request)
        commit()
    return {"decision_id": decision.id, "schedule_id": version.id,
            "request_id": cab_request.id}


def test_no_route_shows_another_tenants_objects(app, client, two_tenants, login_as):
    user_a, fillers = two_tenants
    result = walk(app, client, fillers=fillers, own_slug="alpha", other_slug="bravo",
                  other_markers=B_MARKERS, relogin=lambda: login_as(user_a))
    assert result.unknown_args == {}, (
        "teach tests/core/test_tenancy.py fillers how to make a tenant-B value for: "
        f"{result.unknown_args}"
    )
    assert result.requests > 20
    assert result.leaks == [], "\n".join(f"{lk.method} {lk.url} → {lk.status}: {lk.reason}"
                                         for lk in result.leaks)


@pytest.fixture
def leaky_app(app):
    """A second app on the same database with one deliberately unscoped view and a scoped twin."""
    from accreditor.tenants.views import pull_tenant_slug, resolve_tenant

    leaky = create_app({**{k: app.config[k] for k in ("ENV", "SQLALCHEMY_DATABASE_URI")},
                        "REDIS_URL": None, "SERVER_NAME": "localhost"})
    bp = Blueprint("leaky", __name__, url_prefix="/<tenant_slug>/leaky")
    bp.url_value_preprocessor(pull_tenant_slug)
    bp.before_request(resolve_tenant)

    @bp.get("/unscoped/<int:membership_id>")
    def unscoped(membership_id):
        m = db.session.execute(
            select(Membership).where(Membership.id == membership_id)
            .execution_options(**{ALL_TENANTS: True})  # the bug: skips the tenant filter
        ).scalar_one_or_none()
        if m is None:
            abort(404)
        user = db.session.execute(select(User).where(User.id == m.user_id)).scalar_one()
        return f"<p>{user.name} {user.email} in tenant {g.tenant.slug}</p>"

    @bp.get("/scoped/<int:membership_id>")
    def scoped(membership_id):
        m = get_scoped_or_404(Membership, membership_id)
        user = db.session.execute(select(User).where(User.id == m.user_id)).scalar_one()
        return f"<p>{user.name} {user.email}</p>"

    leaky.register_blueprint(bp)
    leaky.test_client_class = FreshContextClient
    return leaky


def test_the_walker_catches_a_view_that_loads_without_scoping(leaky_app, two_tenants):
    user_a, fillers = two_tenants
    client = leaky_app.test_client()

    def relogin():
        client.post("/logout")
        client.post("/login", data={"email": user_a.email, "password": PASSWORD})

    result = walk(leaky_app, client, fillers=fillers, own_slug="alpha", other_slug="bravo",
                  other_markers=B_MARKERS, relogin=relogin)
    leaked_urls = {lk.url for lk in result.leaks}
    membership_id = fillers["membership_id"]()
    assert f"/alpha/leaky/unscoped/{membership_id}" in leaked_urls
    assert f"/alpha/leaky/scoped/{membership_id}" not in leaked_urls
    assert {lk.url.split("/")[3] for lk in result.leaks} == {"unscoped"}


# -- the same walk one level down: another CAB in the same tenant ---------------------------------


def test_no_route_shows_a_cab_user_another_cabs_objects(app, client, tenant_a, make_user,
                                                        login_as):
    from tests.factories import create_cab, create_cab_user

    own = create_cab(tenant_a, "Own Calibration Ltd")
    cab_user = create_cab_user(tenant_a, own, "me@own.example.org", name="Olga Own")
    objects = cab_objects(tenant_a, "other-cab-marker Ltd", "other-cab-marker")
    objects.pop("kind"), objects.pop("code")  # reference lists are tenant-wide, not per CAB
    fillers = {"membership_id": lambda: 0,
               "message_id": lambda: 0, "event_id": lambda: 0, "token": lambda: "x",
               "filename": lambda: "css/app.css", "kind": lambda: "testing_field",
               "code": lambda: "x", **{k: (lambda v=v: v) for k, v in objects.items()}}
    result = walk(app, client, fillers=fillers, own_slug="alpha", other_slug=None,
                  other_markers=["other-cab-marker"], relogin=lambda: login_as(cab_user))
    assert result.unknown_args == {}, result.unknown_args
    cab_level = [lk for lk in result.leaks if any(
        f"/{v}" in lk.url for k, v in objects.items())]
    assert cab_level == [] and result.leaks == [], "\n".join(
        f"{lk.method} {lk.url} → {lk.status}: {lk.reason}" for lk in result.leaks)


def test_a_cab_scope_sees_only_its_own_cab_and_its_rows(tenant_a):
    from accreditor.cabs.models import Cab, CabLocation
    from accreditor.core.tenancy import cab_scope
    from tests.factories import create_cab

    own = create_cab(tenant_a, "Own Ltd")
    other = create_cab(tenant_a, "Other Ltd")
    with tenant_scope(tenant_a):
        assert {c.id for c in db.session.execute(select(Cab)).scalars()} == {own.id, other.id}
        with cab_scope(own.id):
            assert [c.id for c in db.session.execute(select(Cab)).scalars()] == [own.id]
            locs = db.session.execute(select(CabLocation)).scalars().all()
            assert {loc.cab_id for loc in locs} == {own.id}
            db.session.add(CabLocation(cab_id=other.id, code="Z", name="x", address="y",
                                       country="GB"))
            with pytest.raises(CrossTenantWrite):
                db.session.flush()
    db.session.rollback()
