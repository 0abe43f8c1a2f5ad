"""The assessor register: the list (filters, monitoring, counts, bounded queries), one person's
entry, authorisations (who proposes and approves, reference lists, validity, expiry on the
boundary day), evidence documents, declarations of interest, and 404 for CAB users, other
tenants and people without the assessor role."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from accreditor.assessments import register
from accreditor.assessments.models import (
    AssessorAuthorisation,
    AssessorProfile,
    AuthorisationRole,
    AuthorisationStatus,
    InterestDeclaration,
)
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.documents.models import Document
from accreditor.extensions import db
from accreditor.refdata.services import programme_by_code
from accreditor.scopes.models import ScopeItem
from tests.assessments.assessment_helpers import TODAY, assessor, authorise, declare
from tests.auth.helpers import field_error, flashes, form_error, input_value, text
from tests.factories import create_accreditation, create_cab, create_cab_user, create_member

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# -- people -------------------------------------------------------------------------------------


@pytest.fixture
def manager(tenant_a):
    return create_member(tenant_a, "manager@alpha.example.org", [Role.manager], name="Mia Manager")


@pytest.fixture
def manager2(tenant_a):
    return create_member(tenant_a, "manager2@alpha.example.org", [Role.manager],
                         name="Max Manager")


@pytest.fixture
def ann(tenant_a):
    """An assessor with one current 17025-C authorisation (PRES)."""
    return assessor(tenant_a, "ann@alpha.example.org", name="Ann Assessor", organisation="NAB",
                    area_kind="calibration_discipline", areas=["PRES"])


@pytest.fixture
def ben(tenant_a):
    return assessor(tenant_a, "ben@alpha.example.org", name="Ben Assessor",
                    organisation="Freelance Ltd")


def prog(code: str, tenant) -> int:
    with tenant_scope(tenant):
        return programme_by_code(code).id


def url(*parts, slug="alpha") -> str:
    return "/".join([f"/{slug}/assessors", *[str(p) for p in parts]]).rstrip("/") + (
        "/" if not parts else "")


def auths_of(tenant, user) -> list[AssessorAuthorisation]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(
            select(AssessorAuthorisation).where(AssessorAuthorisation.user_id == user.id)
            .order_by(AssessorAuthorisation.id)).scalars())


def decls_of(tenant, user) -> list[InterestDeclaration]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(
            select(InterestDeclaration).where(InterestDeclaration.user_id == user.id)
            .order_by(InterestDeclaration.id)).scalars())


def actions(tenant) -> list[str]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(
            select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def propose(client, user, **data):
    form = {"role": "assessor", "programme_id": "", "area_kind": "", "areas": "",
            "valid_from": (TODAY - timedelta(days=10)).isoformat(), "valid_to": "", "notes": ""}
    form.update({k: str(v) for k, v in data.items()})
    return client.post(url(user.id, "authorisations"), data=form)


def register_table(resp) -> str:
    m = re.search(r'<table class="table" data-testid="register">(.*?)</table>',
                  resp.get_data(as_text=True), re.S)
    return m.group(1) if m else ""


def row(resp, testid: str) -> str:
    m = re.search(rf'<tr data-testid="{re.escape(testid)}">(.*?)</tr>',
                  resp.get_data(as_text=True), re.S)
    assert m, f"no row {testid}"
    return " ".join(re.sub(r"<[^>]+>", " ", m.group(1)).split())


# -- the register list --------------------------------------------------------------------------


def test_the_register_lists_every_assessor_with_monitoring_and_current_counts(
        client, login_as, tenant_a, tenant_b, manager, ann, ben, make_user):
    never = make_user(tenant_a, "nora@alpha.example.org", [Role.assessor], name="Nora Newcomer")
    make_user(tenant_b, "bob@bravo.example.org", [Role.assessor], name="Bob Bravo")
    with tenant_scope(tenant_a):
        profile = db.session.execute(select(AssessorProfile).where(
            AssessorProfile.user_id == ben.id)).scalar_one()
        profile.is_external = True
        profile.last_onsite_monitoring_on = TODAY - relativedelta(months=37)
        authorise(ann, programme="17021-1", area_kind="iaf_code", areas=["28"])
        authorise(ann, programme="17021-1", status=AuthorisationStatus.proposed)
        authorise(ann, programme="17020", valid_to=TODAY)  # expires today: no longer counts
        commit()
    declare(tenant_a, ann, organisation="Old Consultancy", started_on=TODAY - timedelta(days=400),
            ended_on=None)
    declare(tenant_a, ann, organisation="Older", started_on=date(2015, 1, 1),
            ended_on=date(2016, 1, 1))
    login_as(manager)
    resp = client.get(url())
    assert resp.status_code == 200
    table = register_table(resp)
    assert "Mia Manager" not in table and "Bob Bravo" not in text(resp)
    ann_row, ben_row, nora_row = (row(resp, f"assessor-{u.id}") for u in (ann, ben, never))
    assert "NAB" in ann_row and "17021-1 × 1" in ann_row and "17025-C × 1" in ann_row
    assert "17020" not in ann_row and "overdue" not in ann_row
    assert ann_row.endswith(" 1")  # one current declaration, the ended one does not count
    assert "external" in ben_row and "overdue" in ben_row
    assert "never" in nora_row and "overdue" in nora_row and "none" in nora_row


def _bulk(tenant, n: int, prefix: str):
    c_id, t_id = prog("17025-C", tenant), prog("17021-1", tenant)
    with tenant_scope(tenant):
        cab = create_cab(tenant, f"{prefix} CAB Ltd")
    for i in range(n):
        user = create_member(tenant, f"{prefix}{i}@example.org", [Role.assessor],
                             name=f"{prefix} {i:03d}", password=None)
        with tenant_scope(tenant):
            db.session.add(AssessorProfile(
                user_id=user.id, organisation=f"Org {i}",
                last_onsite_monitoring_on=TODAY - relativedelta(months=40 if i % 2 else 1)))
            for pid, kind, areas in ((c_id, "calibration_discipline", ["PRES"]),
                                     (t_id, "iaf_code", ["28", "cluster:Food"])):
                db.session.add(AssessorAuthorisation(
                    user_id=user.id, role="assessor", programme_id=pid, area_kind=kind,
                    areas=areas, valid_from=date(2020, 1, 1), status="approved",
                    approved_at=register.utcnow()))
            db.session.add(InterestDeclaration(user_id=user.id, kind="consultancy",
                                               cab_id=cab.id, started_on=date(2021, 1, 1)))
            commit()


@pytest.mark.parametrize("query", ["", "?programme=PROG&role=assessor&area=food&overdue=1&q=0"])
def test_the_register_runs_the_same_number_of_queries_for_3_and_60_assessors(
        client, login_as, tenant_a, manager, count_queries, assert_max_queries, query):
    login_as(manager)
    query = query.replace("PROG", str(prog("17021-1", tenant_a)))
    _bulk(tenant_a, 3, "small")
    with count_queries() as small:
        assert client.get(url() + query).status_code == 200
    _bulk(tenant_a, 57, "large")
    with assert_max_queries(small.count) as large:
        resp = client.get(url() + query)
    assert resp.status_code == 200
    assert large.count <= 12, large.statements
    shown = text(resp).count('data-testid="assessor-')
    assert shown == (50 if not query else 1 + 28)  # the first page of 60; the overdue ones


def test_the_register_pages_and_filters(client, login_as, tenant_a, manager, ann, ben):
    cal = prog("17025-C", tenant_a)
    ms = prog("17021-1", tenant_a)
    carl = assessor(tenant_a, "carl@alpha.example.org", name="Carl Lead",
                    role=AuthorisationRole.lead_assessor, programme="17021-1",
                    area_kind="iaf_code", areas=["33"], monitored_on=TODAY - relativedelta(
                        months=40))
    dina = assessor(tenant_a, "dina@alpha.example.org", name="Dina Expired",
                    programme="17021-1", area_kind="iaf_code", areas=["3"], valid_to=TODAY)
    login_as(manager)

    def names(query: str) -> set[str]:
        page = register_table(client.get(url() + query))
        return {n for n in ("Ann Assessor", "Ben Assessor", "Carl Lead", "Dina Expired")
                if n in page}

    assert names(f"?programme={cal}") == {"Ann Assessor", "Ben Assessor"}
    assert names(f"?programme={ms}") == {"Carl Lead"}  # Dina's expired today
    assert names("?role=lead_assessor") == {"Carl Lead"}
    assert names(f"?programme={cal}&role=lead_assessor") == set()
    assert names("?area=33") == {"Carl Lead"}
    assert names("?area=3") == set()  # code 3 is Dina's, expired; "33" is not "3"
    assert names("?area=pressure") == {"Ann Assessor"}  # by the discipline's name
    assert names("?overdue=1") == {"Carl Lead"}
    assert names("?q=freelance") == {"Ben Assessor"}
    assert names("?programme=99999") == {"Ann Assessor", "Ben Assessor", "Carl Lead",
                                         "Dina Expired"}  # unknown filter value: dropped
    assert carl and dina


def test_an_expired_authorisation_stops_counting_on_its_valid_to_day(
        client, login_as, tenant_a, manager, make_user):
    eve = make_user(tenant_a, "eve@alpha.example.org", [Role.assessor], name="Eve Edge")
    with tenant_scope(tenant_a):
        ends_today = authorise(eve, programme="17020", valid_to=TODAY)
        ends_tomorrow = authorise(eve, programme="17025-T", valid_to=TODAY + timedelta(days=1))
        commit()
        assert not ends_today.is_current(TODAY) and ends_today.is_current(
            TODAY - timedelta(days=1))
        assert ends_tomorrow.is_current(TODAY)
    login_as(manager)
    listing = row(client.get(url()), f"assessor-{eve.id}")
    assert "17025-T × 1" in listing and "17020" not in listing
    page = client.get(url(eve.id))
    assert "Expired" in row(page, f"auth-{ends_today.id}")
    assert "Current" in row(page, f"auth-{ends_tomorrow.id}")


# -- access ------------------------------------------------------------------------------------


def test_cab_users_and_other_tenants_get_404_everywhere(client, login_as, tenant_a, tenant_b,
                                                         ann, make_user):
    cab = create_cab(tenant_a, "Portal Lab Ltd")
    cab_user = create_cab_user(tenant_a, cab, "cab@portal.example.org", name="Cora CAB")
    login_as(cab_user)
    for path in (url(), url("me"), url(ann.id)):
        assert client.get(path).status_code == 404, path
    assert client.post(url(ann.id, "declarations"), data={}).status_code == 404
    bob = make_user(tenant_b, "bob@bravo.example.org", [Role.admin, Role.assessor],
                    name="Bob Bravo")
    login_as(bob)
    assert client.get(url(ann.id)).status_code == 404  # not a member of alpha
    assert client.get(url(ann.id, slug="bravo")).status_code == 404  # not an assessor of bravo


def test_a_user_without_the_assessor_role_has_no_register_entry(client, login_as, manager,
                                                                 decider):
    login_as(manager)
    assert client.get(url(decider.id)).status_code == 404
    assert client.get(url(manager.id)).status_code == 404
    assert client.get(url("me")).status_code == 404
    assert client.post(url(decider.id, "declarations"), data={}).status_code == 404


def test_an_assessor_reads_only_their_own_entry(client, login_as, ann, ben, decider, manager):
    login_as(manager)  # a manager sees the Withdraw action on Ann's current authorisation ...
    assert "Withdraw" in text(client.get(url(ann.id)))
    login_as(ann)  # ... Ann, reading her own entry, does not
    own = client.get(url("me"))
    assert own.status_code == 200 and "Ann Assessor" in text(own)
    assert "Propose an authorisation" not in text(own) and "Withdraw" not in text(own)
    assert client.get(url(ben.id)).status_code == 403
    listing = text(client.get(url()))
    assert f'href="/alpha/assessors/{ann.id}"' in listing
    assert f'href="/alpha/assessors/{ben.id}"' not in listing
    login_as(decider)
    page = client.get(url(ben.id))
    assert page.status_code == 200 and "Propose an authorisation" not in text(page)


# -- profile ------------------------------------------------------------------------------------


def test_a_manager_updates_the_profile_and_an_assessor_cannot(client, login_as, tenant_a,
                                                              manager, ann):
    data = {"organisation": "Metrology Partners", "is_external": "y",
            "last_onsite_monitoring_on": (TODAY - timedelta(days=3)).isoformat(),
            "monitoring_notes": "Observed at a PRES surveillance"}
    login_as(ann)
    resp = client.post(url(ann.id, "profile"), data=data)
    assert resp.status_code == 403
    login_as(manager)
    future = {**data, "last_onsite_monitoring_on": (TODAY + timedelta(days=1)).isoformat()}
    resp = client.post(url(ann.id, "profile"), data=future)
    assert resp.status_code == 400
    assert "cannot be in the future" in field_error(resp, "last_onsite_monitoring_on")
    resp = client.post(url(ann.id, "profile"), data=data, follow_redirects=True)
    assert "Profile saved." in flashes(resp)
    with tenant_scope(tenant_a):
        profile = db.session.execute(select(AssessorProfile).where(
            AssessorProfile.user_id == ann.id)).scalar_one()
        assert (profile.organisation, profile.is_external) == ("Metrology Partners", True)
    assert actions(tenant_a)[-1] == "assessor.profile_updated"


def test_a_profile_is_created_for_an_assessor_who_had_none(client, login_as, tenant_a,
                                                           manager, make_user):
    nora = make_user(tenant_a, "nora@alpha.example.org", [Role.assessor], name="Nora New")
    login_as(manager)
    resp = client.post(url(nora.id, "profile"), data={"organisation": "AB staff"})
    assert resp.status_code == 302
    assert "AB staff" in text(client.get(url(nora.id)))


# -- authorisations -----------------------------------------------------------------------------


def test_only_admins_and_managers_propose_authorisations(client, login_as, tenant_a, ann, ben,
                                                         decider):
    cal = prog("17025-C", tenant_a)
    for who in (ann, decider):
        login_as(who)
        resp = propose(client, ann, programme_id=cal)
        assert resp.status_code == 403
    assert len(auths_of(tenant_a, ann)) == 1


def test_a_manager_proposes_and_another_approves(client, login_as, tenant_a, manager, manager2,
                                                 ann):
    ms = prog("17021-1", tenant_a)
    login_as(manager)
    resp = propose(client, ann, role="lead_assessor", programme_id=ms, area_kind="iaf_code",
                   areas="28; 34; cluster: food", notes="ISO 9001 lead course")
    assert resp.status_code == 302
    auth = auths_of(tenant_a, ann)[-1]
    assert (auth.status, auth.areas) == ("proposed", ["28", "34", "cluster:Food"])
    assert "Proposed" in row(client.get(url(ann.id)), f"auth-{auth.id}")
    assert actions(tenant_a)[-1] == "assessor.authorisation_proposed"
    assert auth.proposed_by_id == manager.id
    # Four eyes: the proposer cannot approve it.
    resp = client.post(url("authorisations", auth.id, "approve"))
    assert resp.status_code == 403 and "another manager approves it" in form_error(resp)
    assert auths_of(tenant_a, ann)[-1].status == "proposed"
    login_as(manager2)
    resp = client.post(url("authorisations", auth.id, "approve"), follow_redirects=True)
    assert "Authorisation approved." in flashes(resp)
    auth = auths_of(tenant_a, ann)[-1]
    assert auth.status == "approved" and auth.approved_by_id == manager2.id
    assert auth.approved_at is not None and auth.is_current(TODAY)
    assert "approved by Max Manager" in row(resp, f"auth-{auth.id}")
    assert actions(tenant_a)[-1] == "assessor.authorisation_approved"
    again = client.post(url("authorisations", auth.id, "approve"))
    assert again.status_code == 409 and "Only a proposed authorisation" in form_error(again)


def test_nobody_approves_their_own_authorisation(client, login_as, tenant_a, make_user):
    boss = make_user(tenant_a, "boss@alpha.example.org", [Role.manager, Role.assessor],
                     name="Bo Boss")
    login_as(boss)
    assert propose(client, boss, programme_id=prog("17020", tenant_a)).status_code == 302
    auth = auths_of(tenant_a, boss)[-1]
    assert "Another manager approves your own authorisation." in text(client.get(url(boss.id)))
    resp = client.post(url("authorisations", auth.id, "approve"))
    assert resp.status_code == 403
    assert "You cannot approve your own authorisation" in form_error(resp)
    assert auths_of(tenant_a, boss)[-1].status == "proposed"


def test_an_assessor_cannot_approve_or_withdraw(client, login_as, tenant_a, manager, ann, ben):
    with tenant_scope(tenant_a):
        proposed = authorise(ben, programme="17020", status=AuthorisationStatus.proposed)
        commit()
    login_as(ann)
    assert client.post(url("authorisations", proposed.id, "approve")).status_code == 403
    assert client.post(url("authorisations", proposed.id, "withdraw"),
                       data={f"w{proposed.id}-reason": "x"}).status_code == 403
    assert auths_of(tenant_a, ben)[-1].status == "proposed"


def test_unknown_areas_are_refused_by_name(client, login_as, tenant_a, manager, ann):
    login_as(manager)
    resp = propose(client, ann, programme_id=prog("17025-C", tenant_a),
                   area_kind="calibration_discipline", areas="PRES; WARP; TEMP; FLUX")
    assert resp.status_code == 400
    error = field_error(resp, "areas")
    assert "WARP, FLUX" in error and "17025-C" in error and "PRES" not in error
    resp = propose(client, ann, programme_id=prog("17021-1", tenant_a), area_kind="iaf_code",
                   areas="28; 40; cluster:Nowhere")
    assert "40, cluster:Nowhere" in field_error(resp, "areas")
    assert len(auths_of(tenant_a, ann)) == 1


def test_the_area_list_must_suit_the_programme(client, login_as, tenant_a, manager, ann):
    login_as(manager)
    resp = propose(client, ann, programme_id=prog("17025-C", tenant_a), area_kind="iaf_code",
                   areas="28")
    assert resp.status_code == 400
    assert "17025-C authorisations do not use IAF codes or clusters" in field_error(
        resp, "area_kind")
    assert "Calibration disciplines" in field_error(resp, "area_kind")
    resp = propose(client, ann, programme_id=prog("17020", tenant_a), area_kind="",
                   areas="Lifting equipment")
    assert "Choose the list" in field_error(resp, "area_kind")
    resp = propose(client, ann, programme_id=prog("17020", tenant_a),
                   area_kind="inspection_field", areas="")
    assert "at least one technical area" in field_error(resp, "areas")
    ok = propose(client, ann, programme_id=prog("17020", tenant_a), area_kind="inspection_field",
                 areas="lifting equipment")
    assert ok.status_code == 302
    assert auths_of(tenant_a, ann)[-1].areas == ["LIFTING-EQUIPMENT"]


def test_17024_schemes_come_from_the_tenants_scope_lines(client, login_as, tenant_a, manager,
                                                         ann):
    cab = create_cab(tenant_a, "Persons Cert Ltd")
    acc = create_accreditation(tenant_a, cab, "17024")
    with tenant_scope(tenant_a):
        db.session.add(ScopeItem(cab_id=cab.id, accreditation_id=acc.id,
                                 fields={"scheme": "Welding inspector"}, summary="x"))
        db.session.add(ScopeItem(cab_id=cab.id, accreditation_id=acc.id, status="refused",
                                 fields={"scheme": "Refused scheme"}, summary="y"))
        commit()
    login_as(manager)
    pid = prog("17024", tenant_a)
    resp = propose(client, ann, programme_id=pid, area_kind="scheme", areas="Crane operator")
    assert "Crane operator" in field_error(resp, "areas")
    resp = propose(client, ann, programme_id=pid, area_kind="scheme", areas="Refused scheme")
    assert "Refused scheme" in field_error(resp, "areas")  # a refused line is no scheme
    assert propose(client, ann, programme_id=pid, area_kind="scheme",
                   areas="welding inspector").status_code == 302
    assert auths_of(tenant_a, ann)[-1].areas == ["Welding inspector"]


def test_valid_to_must_be_after_valid_from(client, login_as, tenant_a, manager, ann):
    login_as(manager)
    day = TODAY - timedelta(days=5)
    resp = propose(client, ann, programme_id=prog("17020", tenant_a),
                   valid_from=day.isoformat(), valid_to=day.isoformat())
    assert resp.status_code == 400
    assert "must be after" in field_error(resp, "valid_to")
    assert len(auths_of(tenant_a, ann)) == 1


def test_an_expired_proposal_cannot_be_approved(client, login_as, tenant_a, manager, ann):
    with tenant_scope(tenant_a):
        old = authorise(ann, programme="17020", valid_from=date(2019, 1, 1), valid_to=TODAY,
                        status=AuthorisationStatus.proposed)
        commit()
    login_as(manager)
    resp = client.post(url("authorisations", old.id, "approve"))
    assert resp.status_code == 409 and "expired" in form_error(resp)


def test_withdrawing_needs_a_reason_and_stops_the_count(client, login_as, tenant_a, manager,
                                                        ann):
    auth = auths_of(tenant_a, ann)[0]
    login_as(manager)
    resp = client.post(url("authorisations", auth.id, "withdraw"),
                       data={f"w{auth.id}-reason": ""})
    assert resp.status_code == 400 and auths_of(tenant_a, ann)[0].status == "approved"
    resp = client.post(url("authorisations", auth.id, "withdraw"),
                       data={f"w{auth.id}-reason": "Left the PRES field"},
                       follow_redirects=True)
    assert "Authorisation withdrawn." in flashes(resp)
    assert "Withdrawn" in row(resp, f"auth-{auth.id}")
    auth = auths_of(tenant_a, ann)[0]
    assert auth.status == "withdrawn" and not auth.is_current(TODAY)
    assert "Left the PRES field" in auth.notes
    assert "17025-C" not in row(client.get(url()), f"assessor-{ann.id}")
    assert actions(tenant_a)[-1] == "assessor.authorisation_withdrawn"


def test_another_tenants_authorisation_is_a_404(client, login_as, tenant_a, tenant_b, manager,
                                                make_user):
    bob = assessor(tenant_b, "bob@bravo.example.org", name="Bob Bravo")
    b_auth = auths_of(tenant_b, bob)[0]
    login_as(manager)
    assert client.post(url("authorisations", b_auth.id, "approve")).status_code == 404
    assert client.post(url("authorisations", b_auth.id, "withdraw"),
                       data={f"w{b_auth.id}-reason": "x"}).status_code == 404


def test_a_freelancers_authorisations_in_another_tenant_do_not_count_here(
        client, login_as, tenant_a, tenant_b, manager):
    fay = assessor(tenant_a, "fay@freelance.example.org", name="Fay Freelance", role=None)
    create_member(tenant_b, "fay@freelance.example.org", [Role.assessor])
    with tenant_scope(tenant_b):
        authorise(fay, programme="17020")
        commit()
    login_as(manager)
    assert "none" in row(client.get(url()), f"assessor-{fay.id}")
    assert "Fay Freelance" not in text(client.get(url() + f"?programme={prog('17020', tenant_a)}"))
    assert "No authorisations recorded." in text(client.get(url(fay.id)))


# -- evidence -----------------------------------------------------------------------------------


def upload(client, auth, data: bytes, name: str):
    return client.post(url("authorisations", auth.id, "evidence"),
                       data={f"e{auth.id}-file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def evidence(tenant, auth) -> list[Document]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(select(Document).where(
            Document.owner_type == "authorisation", Document.owner_id == auth.id,
            Document.superseded_at.is_(None))).scalars())


def test_evidence_is_attached_by_managers_and_read_by_staff_and_its_owner(
        client, login_as, tenant_a, manager, decider, ann, ben):
    auth = auths_of(tenant_a, ann)[0]
    login_as(ann)
    assert upload(client, auth, PDF, "mine.pdf").status_code == 403
    login_as(manager)
    resp = upload(client, auth, PDF, "PRES course.pdf")
    assert resp.status_code == 302
    (doc,) = evidence(tenant_a, auth)
    assert (doc.confidentiality, doc.cab_id) == ("internal", None)
    assert "assessor.evidence_added" in actions(tenant_a)
    download = f"/alpha/documents/{doc.id}/download"
    assert download in text(client.get(url(ann.id)))
    for who, status in ((manager, 200), (decider, 200), (ann, 200), (ben, 403)):
        login_as(who)
        assert client.get(download).status_code == status, who.email
    login_as(ann)
    assert download in text(client.get(url("me")))


def test_oversize_evidence_is_a_413_and_nothing_is_stored(app, client, login_as, tenant_a,
                                                          manager, ann, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024)
    auth = auths_of(tenant_a, ann)[0]
    login_as(manager)
    resp = upload(client, auth, PDF + b"%" * 2048, "big.pdf")
    assert resp.status_code == 413
    assert "larger than the 1 KB limit. Nothing was stored." in text(resp)
    assert evidence(tenant_a, auth) == []


def test_evidence_of_a_refused_type_is_a_400_naming_the_allowed_types(client, login_as,
                                                                       tenant_a, manager, ann):
    auth = auths_of(tenant_a, ann)[0]
    login_as(manager)
    resp = upload(client, auth, b"<html><script>alert(1)</script></html>", "cert.pdf")
    assert resp.status_code == 400
    assert "Allowed types: PDF, PNG, JPEG" in field_error(resp, f"e{auth.id}-file")
    assert evidence(tenant_a, auth) == []
    resp = client.post(url("authorisations", auth.id, "evidence"), data={},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "Choose a file." in text(resp)


def test_a_manager_removes_evidence_and_it_stays_on_record(client, login_as, tenant_a, manager,
                                                           ann, ben):
    auth, other = auths_of(tenant_a, ann)[0], auths_of(tenant_a, ben)[0]
    login_as(manager)
    upload(client, auth, PDF, "a.pdf")
    (doc,) = evidence(tenant_a, auth)
    wrong = client.post(url("authorisations", other.id, "evidence", doc.id, "remove"))
    assert wrong.status_code == 404 and evidence(tenant_a, auth) == [doc]
    resp = client.post(url("authorisations", auth.id, "evidence", doc.id, "remove"))
    assert resp.status_code == 302 and evidence(tenant_a, auth) == []
    with tenant_scope(tenant_a):
        assert db.session.execute(select(func.count(Document.id))).scalar_one() == 1
    assert actions(tenant_a)[-1] == "assessor.evidence_removed"


# -- declarations -------------------------------------------------------------------------------


def declaration(**data) -> dict:
    form = {"kind": "consultancy", "cab_id": "", "organisation": "", "description": "",
            "started_on": date(2022, 3, 1).isoformat(), "ended_on": ""}
    form.update(data)
    return form


def test_an_assessor_declares_edits_and_ends_their_own_interests(client, login_as, tenant_a,
                                                                 ann):
    cab = create_cab(tenant_a, "Precision Metrology Ltd")
    login_as(ann)
    page = text(client.get(url("me")))
    assert "Declare an interest" in page and "Precision Metrology Ltd" in page
    resp = client.post(url(ann.id, "declarations"), data=declaration(cab_id=str(cab.id)),
                       follow_redirects=True)
    assert "Declaration recorded." in flashes(resp)
    (decl,) = decls_of(tenant_a, ann)
    assert decl.cab_id == cab.id and "current" in row(resp, f"decl-{decl.id}")
    resp = client.post(url("declarations", decl.id, "edit"),
                       data=declaration(cab_id="", organisation="Metrology Holdings plc",
                                        kind="employment"), follow_redirects=True)
    assert "Declaration saved." in flashes(resp)
    decl = decls_of(tenant_a, ann)[0]
    assert (decl.kind, decl.cab_id, decl.organisation) == (
        "employment", None, "Metrology Holdings plc")
    early = client.post(url("declarations", decl.id, "end"),
                        data={f"x{decl.id}-ended_on": "2022-02-28"})
    assert early.status_code == 400
    assert "before the start date" in field_error(early, f"x{decl.id}-ended_on")
    resp = client.post(url("declarations", decl.id, "end"),
                       data={f"x{decl.id}-ended_on": "2023-06-30"}, follow_redirects=True)
    assert "Declaration ended." in flashes(resp)
    assert decls_of(tenant_a, ann)[0].ended_on == date(2023, 6, 30)
    assert "current" not in row(resp, f"decl-{decl.id}")
    assert [a for a in actions(tenant_a) if a.startswith("assessor.declaration")] == [
        "assessor.declaration_recorded", "assessor.declaration_updated",
        "assessor.declaration_ended"]


def test_a_declaration_names_a_cab_or_an_organisation_and_ends_after_it_starts(
        client, login_as, tenant_a, tenant_b, ann):
    b_cab = create_cab(tenant_b, "Bravo Lab Ltd")
    a_cab = create_cab(tenant_a, "Alpha Lab Ltd")
    login_as(ann)
    resp = client.post(url(ann.id, "declarations"), data=declaration())
    assert resp.status_code == 400 and "Choose the CAB" in field_error(resp, "cab_id")
    resp = client.post(url(ann.id, "declarations"),
                       data=declaration(cab_id=str(a_cab.id), organisation="Also this"))
    assert "not both" in field_error(resp, "organisation")
    resp = client.post(url(ann.id, "declarations"),
                       data=declaration(organisation="X Consult", ended_on="2022-02-01"))
    assert "cannot be before the start date" in field_error(resp, "ended_on")
    resp = client.post(url(ann.id, "declarations"), data=declaration(cab_id=str(b_cab.id)))
    assert resp.status_code == 400 and "Bravo Lab Ltd" not in text(resp)
    assert decls_of(tenant_a, ann) == []
    same_day = client.post(url(ann.id, "declarations"),
                           data=declaration(organisation="One-day job",
                                            ended_on="2022-03-01"))
    assert same_day.status_code == 302


def test_an_assessor_cannot_touch_someone_elses_declarations(client, login_as, tenant_a, ann,
                                                             ben):
    declare(tenant_a, ben, organisation="Ben's employer", started_on=date(2020, 1, 1),
            ended_on=None)
    (decl,) = decls_of(tenant_a, ben)
    login_as(ann)
    assert client.post(url(ben.id, "declarations"),
                       data=declaration(organisation="X")).status_code == 403
    assert client.get(url("declarations", decl.id, "edit")).status_code == 403
    assert client.post(url("declarations", decl.id, "edit"),
                       data=declaration(organisation="Changed")).status_code == 403
    assert client.post(url("declarations", decl.id, "end"),
                       data={f"x{decl.id}-ended_on": "2024-01-01"}).status_code == 403
    decl = decls_of(tenant_a, ben)[0]
    assert (decl.organisation, decl.ended_on) == ("Ben's employer", None)
    assert decls_of(tenant_a, ann) == []


def test_a_manager_records_declarations_for_anyone(client, login_as, tenant_a, manager, ann):
    login_as(manager)
    resp = client.post(url(ann.id, "declarations"),
                       data=declaration(organisation="Gauge Calibration Services",
                                        kind="financial"), follow_redirects=True)
    assert "Declaration recorded." in flashes(resp)
    (decl,) = decls_of(tenant_a, ann)
    edit = client.get(url("declarations", decl.id, "edit"))
    assert edit.status_code == 200
    assert input_value(edit, "organisation") == "Gauge Calibration Services"
    login_as(ann)
    assert "Gauge Calibration Services" in text(client.get(url("me")))


def test_another_tenants_declaration_is_a_404(client, login_as, tenant_a, tenant_b, manager):
    bob = assessor(tenant_b, "bob@bravo.example.org", name="Bob Bravo")
    declare(tenant_b, bob, organisation="Bravo secret", started_on=date(2020, 1, 1),
            ended_on=None)
    (decl,) = decls_of(tenant_b, bob)
    login_as(manager)
    assert client.get(url("declarations", decl.id, "edit")).status_code == 404
    assert client.post(url("declarations", decl.id, "end"),
                       data={f"x{decl.id}-ended_on": "2024-01-01"}).status_code == 404


# -- one person's page --------------------------------------------------------------------------


def test_a_persons_page_runs_a_bounded_number_of_queries(client, login_as, tenant_a, manager,
                                                         ann, count_queries,
                                                         assert_max_queries):
    login_as(manager)
    with count_queries() as few:
        assert client.get(url(ann.id)).status_code == 200
    with tenant_scope(tenant_a):
        for i in range(30):
            authorise(ann, programme="17021-1", area_kind="iaf_code", areas=[str(i % 39 + 1)])
            db.session.add(InterestDeclaration(user_id=ann.id, kind="other",
                                               organisation=f"Body {i}",
                                               started_on=date(2020, 1, 1)))
        commit()
    with assert_max_queries(few.count) as many:
        resp = client.get(url(ann.id))
    assert resp.status_code == 200 and text(resp).count('data-testid="auth-') == 31
    assert many.count <= 16, many.statements


def test_an_ended_declaration_is_not_ended_again_and_a_withdrawn_authorisation_not_withdrawn(
        client, login_as, tenant_a, manager, ann):
    declare(tenant_a, ann, organisation="Past employer", started_on=date(2018, 1, 1),
            ended_on=date(2019, 1, 1))
    (decl,) = decls_of(tenant_a, ann)
    auth = auths_of(tenant_a, ann)[0]
    login_as(manager)
    resp = client.post(url("declarations", decl.id, "end"),
                       data={f"x{decl.id}-ended_on": "2020-01-01"})
    assert resp.status_code == 409 and "already ended on 2019-01-01" in form_error(resp)
    assert decls_of(tenant_a, ann)[0].ended_on == date(2019, 1, 1)
    reason = {f"w{auth.id}-reason": "Retired"}
    assert client.post(url("authorisations", auth.id, "withdraw"), data=reason).status_code == 302
    again = client.post(url("authorisations", auth.id, "withdraw"), data=reason)
    assert again.status_code == 409 and "already been withdrawn" in form_error(again)


def test_declarations_stay_off_the_cabs_history_that_every_staff_role_reads(
        client, login_as, tenant_a, manager, ann, ben):
    """Another assessor may not read Ann's declaration on the register; the CAB history tab
    (readable by every staff role) must not show it either."""
    from tests.factories import create_cab

    cab = create_cab(tenant_a, "Declared Lab Ltd")
    login_as(ann)
    resp = client.post(url(ann.id, "declarations"), data={
        "kind": "consultancy", "cab_id": str(cab.id), "organisation": "",
        "started_on": "2024-01-01", "ended_on": "", "description": "PRIVATE-DECLARATION-TEXT"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    login_as(ben)
    assert client.get(url(ann.id)).status_code == 403
    history = client.get(f"/alpha/cabs/{cab.id}/history").get_data(as_text=True)
    assert "PRIVATE-DECLARATION-TEXT" not in history
    assert actions(tenant_a)[-1] == "assessor.declaration_recorded"
