"""Witness records (rule 35) and the IAF MD 17 matrix (rule 34): the rules that refuse, the due
statuses on their boundary dates, who may write, what the pages show and their query counts."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accreditor.assessments import md17, services, witness
from accreditor.assessments.md17 import DueStatus
from accreditor.assessments.models import Assessment, TeamAssignment, Witness
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.errors import Conflict, PermissionDenied, ValidationFailed
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.refdata.models import TermKind
from accreditor.refdata.services import set_term_grouping
from accreditor.scopes import services as scope_services
from accreditor.scopes.models import Accreditation
from accreditor.tenants.models import TenantPolicy
from tests.assessments.assessment_helpers import TODAY
from tests.auth.helpers import field_error, flashes, text
from tests.factories import CAL_LINE, create_accreditation, create_cab, create_cab_user

T = date(2026, 6, 15)  # a fixed "today" for the boundary tests (before the real today)
GRANTED = date(2024, 1, 10)
# ISO 9001 seed (QMS): critical 3 (Food), 12 (Chemicals), 20 and 22 (Mechanical), 28
# (Construction); not critical 1 (Food), 10 (Chemicals), 17 (Mechanical), 34 (Construction).
QMS = {"standard": "ISO 9001:2015", "iaf_codes": "1; 3; 10; 12; 17; 20; 22; 28; 34"}


# -- builders -----------------------------------------------------------------------------------


def load_acc(acc_id: int) -> Accreditation:
    db.session.expire_all()
    return db.session.execute(
        select(Accreditation).where(Accreditation.id == acc_id)
        .options(selectinload(Accreditation.programme), selectinload(Accreditation.cab))
    ).scalar_one()


def ms_acc(tenant, lines=(QMS,), name="Certify Ltd", grant=True) -> Accreditation:
    cab = create_cab(tenant, name)
    acc = create_accreditation(tenant, cab, "17021-1", lines=list(lines))
    if grant:
        with tenant_scope(tenant):
            scope_services.grant(load_acc(acc.id), effective_on=GRANTED)
            commit()
    with tenant_scope(tenant):
        return load_acc(acc.id)


def cal_acc(tenant, name="Precision Metrology Ltd") -> Accreditation:
    cab = create_cab(tenant, name)
    acc = create_accreditation(tenant, cab, "17025-C", lines=[CAL_LINE])
    with tenant_scope(tenant):
        scope_services.grant(load_acc(acc.id), effective_on=GRANTED)
        commit()
        return load_acc(acc.id)


def ms_data(**kw) -> dict:
    return {"activity": "ms_audit", "client_name": "Bricks & Mortar plc",
            "audit_type": "surveillance", "standard": "ISO 9001:2015", "iaf_code": "28",
            "cab_personnel": "J. Auditor (lead), K. Expert", "extent": "full", "mode": "onsite",
            "witnessed_on": TODAY - timedelta(days=10), "place": "Leeds site",
            "outcome": "satisfactory", **kw}


def record(tenant, acc_id: int, **kw) -> int:
    with tenant_scope(tenant):
        w = witness.record_witness(load_acc(acc_id), **ms_data(**kw))
        commit()
        return w.id


def refusal(tenant, acc_id: int, **kw) -> ValidationFailed:
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as exc:
        witness.record_witness(load_acc(acc_id), **ms_data(**kw))
    db.session.rollback()
    return exc.value


def last_for_due(due: date, years: int = 5) -> date:
    return due - relativedelta(years=years)


def statuses(tenant, acc_id: int, today: date = T) -> dict[str, DueStatus]:
    with tenant_scope(tenant):
        m = md17.matrix(load_acc(acc_id), today=today)
        return {r.code: r.status for r in m.rows}


def plan(tenant, acc_id: int, type_="witness", start=None) -> int:
    with tenant_scope(tenant):
        start = start or TODAY + timedelta(days=20)
        a = services.create_assessment(load_acc(acc_id), type_, "onsite", start, start, ["A"])
        commit()
        return a.id


def on_team(tenant, assessment_id: int, user, role="lead") -> None:
    with tenant_scope(tenant):
        a = db.session.execute(select(Assessment).where(Assessment.id == assessment_id)
                               ).scalar_one()
        db.session.add(TeamAssignment(cab_id=a.cab_id, assessment_id=a.id, user_id=user.id,
                                      role=role))
        commit()


def get_witness(tenant, witness_id: int) -> Witness:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(select(Witness).where(Witness.id == witness_id)).scalar_one()


@pytest.fixture
def manager(tenant_a, make_user):
    return make_user(tenant_a, "mgr@alpha.example.org", [Role.manager], name="Mona Manager")


# -- the rules that refuse ----------------------------------------------------------------------


def test_the_activity_must_fit_the_programme(tenant_a):
    ms = ms_acc(tenant_a)
    assert refusal(tenant_a, ms.id, activity="calibration").field == "activity"
    lab = cal_acc(tenant_a)
    exc = refusal(tenant_a, lab.id, activity="ms_audit")
    assert exc.field == "activity" and "calibration" in exc.message
    assert refusal(tenant_a, lab.id, activity="test", category="PRES").field == "activity"


@pytest.mark.parametrize("change, field_name, words_", [
    ({"client_name": " "}, "client_name", "client"),
    ({"audit_type": ""}, "audit_type", "type of the CB's audit"),
    ({"standard": "ISO 14001:2015"}, "standard", "standard of the accreditation's scope"),
    ({"iaf_code": "5"}, "iaf_code", "IAF code 5 is not in the scope"),
    ({"iaf_code": ""}, "iaf_code", "Give the IAF code"),
    ({"cab_personnel": ""}, "cab_personnel", "rule 35"),
    ({"place": "  "}, "place", "Give the place of the witnessed activity"),
    ({"extent": "most"}, "extent", "in full or in part"),
    ({"mode": "hybrid"}, "mode", "on-site or remotely"),
    ({"witnessed_on": TODAY + timedelta(days=1)}, "witnessed_on", "in the future"),
])
def test_an_ms_audit_witness_is_refused_with_its_reason(tenant_a, change, field_name, words_):
    acc = ms_acc(tenant_a)
    exc = refusal(tenant_a, acc.id, **change)
    assert exc.field == field_name and words_ in exc.message


def test_a_witness_dated_today_with_a_zero_padded_code_is_recorded(tenant_a):
    acc = ms_acc(tenant_a)
    w = get_witness(tenant_a, record(tenant_a, acc.id, witnessed_on=TODAY, iaf_code="IAF 03"))
    assert (w.iaf_code, w.cluster, w.witnessed_on) == ("3", "Food", TODAY)


def test_the_linked_assessment_must_be_a_witness_assessment_of_the_same_accreditation(tenant_a):
    acc = ms_acc(tenant_a)
    other = ms_acc(tenant_a, name="Other Certifier Ltd")
    elsewhere = plan(tenant_a, other.id)
    surveillance = plan(tenant_a, acc.id, "surveillance")
    own = plan(tenant_a, acc.id)
    exc = refusal(tenant_a, acc.id, assessment_id=str(elsewhere))
    assert exc.field == "assessment_id" and "not an assessment of this accreditation" in exc.message
    exc = refusal(tenant_a, acc.id, assessment_id=str(surveillance))
    assert exc.field == "assessment_id" and "witness assessment" in exc.message
    with tenant_scope(tenant_a):
        services.cancel_assessment(db.session.execute(
            select(Assessment).where(Assessment.id == own)).scalar_one(), "Client withdrew")
        commit()
    assert "cancelled" in refusal(tenant_a, acc.id, assessment_id=str(own)).message
    good = plan(tenant_a, acc.id)
    assert get_witness(tenant_a, record(tenant_a, acc.id, assessment_id=str(good))
                       ).assessment_id == good


def test_a_lab_witness_names_a_field_of_the_scope_and_may_link_any_on_site_assessment(tenant_a):
    acc = cal_acc(tenant_a)
    base = {"activity": "calibration", "client_name": None, "audit_type": None,
            "standard": None, "iaf_code": None}
    exc = refusal(tenant_a, acc.id, **base, category="MASS")
    assert exc.field == "category" and "field of the accreditation's scope" in exc.message
    review = plan(tenant_a, acc.id, "document_review")
    assert "desk review" in refusal(tenant_a, acc.id, **base, category="PRES",
                                    assessment_id=str(review)).message
    surveillance = plan(tenant_a, acc.id, "surveillance")
    w = get_witness(tenant_a, record(tenant_a, acc.id, **base, category="PRES",
                                     assessment_id=str(surveillance)))
    assert (w.activity, w.category, w.assessment_id) == ("calibration", "PRES", surveillance)


TESTING_LINE = {"field": "CHEMICAL", "product": "Soils", "test": "Lead by ICP-OES",
                "method": "In-house method WTM-017", "location": "A"}
INSPECTION_LINE = {"field": "LIFTING-EQUIPMENT", "stage": "IN-SERVICE---PERIODIC",
                   "range": "Cranes up to 50 t", "method": "LOLER 1998 procedure IP-4"}
PERSON_LINE = {"scheme": "NDT personnel", "scheme_owner": "Certify Persons Ltd",
               "normative_document": "ISO 9712:2021", "levels": "UT 1-3"}
NON_MS = {"client_name": None, "audit_type": None, "standard": None, "iaf_code": None}


@pytest.mark.parametrize("programme, line, good, wrong, extra", [
    ("17025-T", TESTING_LINE, "test", "calibration", {"category": "CHEMICAL"}),
    ("17020", INSPECTION_LINE, "inspection", "test", {"category": "LIFTING-EQUIPMENT"}),
    ("17024", PERSON_LINE, "examination", "inspection", {"standard": "NDT personnel"}),
])
def test_each_programme_takes_its_own_activity(tenant_a, programme, line, good, wrong, extra):
    cab = create_cab(tenant_a, f"{programme} body Ltd")
    acc = create_accreditation(tenant_a, cab, programme, lines=[line],
                               ib_type="A" if programme == "17020" else None)
    assert refusal(tenant_a, acc.id, **{**NON_MS, **extra}, activity=wrong).field == "activity"
    w = get_witness(tenant_a, record(tenant_a, acc.id, **{**NON_MS, **extra}, activity=good))
    assert w.activity == good


def test_a_person_certification_witness_names_a_scheme_of_the_scope(tenant_a):
    cab = create_cab(tenant_a, "Certify Persons Ltd")
    acc = create_accreditation(tenant_a, cab, "17024", lines=[PERSON_LINE])
    exc = refusal(tenant_a, acc.id, **NON_MS, activity="examination")
    assert exc.field == "standard" and "scheme of the accreditation's scope" in exc.message
    exc = refusal(tenant_a, acc.id, **{**NON_MS, "standard": "Welders"}, activity="examination")
    assert exc.field == "standard"


def test_a_food_safety_audit_names_a_food_chain_category_of_the_scope(tenant_a):
    acc = ms_acc(tenant_a, lines=({"standard": "ISO 22000:2018", "food_chain": "CI; CII"},))
    base = {"standard": "ISO 22000:2018", "iaf_code": ""}
    exc = refusal(tenant_a, acc.id, **base)
    assert exc.field == "category" and "category of the witnessed audit" in exc.message
    assert refusal(tenant_a, acc.id, **base, category="E").field == "category"
    assert refusal(tenant_a, acc.id, **{**base, "iaf_code": "3"}, category="CI"
                   ).field == "iaf_code"
    w = get_witness(tenant_a, record(tenant_a, acc.id, **base, category="CI",
                                     witnessed_on=date(2025, 1, 1)))
    assert (w.category, w.cluster) == ("CI", "Food and feed processing")
    got = statuses(tenant_a, acc.id)
    assert got["CI"] == got["CII"] == DueStatus.ok  # one cluster, no critical category


def test_no_witness_for_a_withdrawn_accreditation(tenant_a):
    acc = ms_acc(tenant_a)
    with tenant_scope(tenant_a):
        scope_services.withdraw(load_acc(acc.id), effective_on=TODAY, voluntary=False)
        commit()
    with tenant_scope(tenant_a), pytest.raises(Conflict, match="withdrawn"):
        witness.record_witness(load_acc(acc.id), **ms_data())


def test_recording_and_editing_write_audit_events(tenant_a):
    acc = ms_acc(tenant_a)
    wid = record(tenant_a, acc.id)
    with tenant_scope(tenant_a):
        w = get_witness(tenant_a, wid)
        witness.update_witness(w, load_acc(acc.id), **ms_data(extent="partial", iaf_code="34"))
        commit()
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.object_type == "Witness", AuditEvent.object_id == str(wid))
            .order_by(AuditEvent.seq)).scalars().all()
    assert [e.action for e in events] == ["witness.recorded", "witness.updated"]
    assert events[0].changes["iaf_code"] == [None, "28"]
    assert events[1].changes["extent"] == ["full", "partial"]
    assert events[1].changes["iaf_code"] == ["28", "34"]


# -- due statuses -------------------------------------------------------------------------------


def test_critical_codes_show_ok_due_soon_overdue_and_never_on_the_boundary_dates(tenant_a):
    acc = ms_acc(tenant_a)
    record(tenant_a, acc.id, iaf_code="3", witnessed_on=last_for_due(T + timedelta(days=91)))
    record(tenant_a, acc.id, iaf_code="12", witnessed_on=last_for_due(T + timedelta(days=90)))
    record(tenant_a, acc.id, iaf_code="20", witnessed_on=last_for_due(T))
    record(tenant_a, acc.id, iaf_code="22", witnessed_on=last_for_due(T - timedelta(days=1)))
    got = statuses(tenant_a, acc.id)
    assert got["3"] == DueStatus.ok  # due in 91 days: not yet in the 90-day window
    assert got["12"] == DueStatus.due_soon  # due in exactly 90 days
    assert got["20"] == DueStatus.due_soon  # due today: not yet overdue
    assert got["22"] == DueStatus.overdue  # due yesterday
    assert got["28"] == DueStatus.never
    with tenant_scope(tenant_a):
        assert sorted((r.code, r.status) for r in md17.overdue_critical(load_acc(acc.id),
                                                                            today=T)
                      ) == [("22", DueStatus.overdue), ("28", DueStatus.never)]


def test_the_tenants_cycle_and_warning_settings_drive_the_status(tenant_a):
    acc = ms_acc(tenant_a)
    record(tenant_a, acc.id, iaf_code="28", witnessed_on=date(2023, 8, 1))
    assert statuses(tenant_a, acc.id)["28"] == DueStatus.ok  # 5 years: due 1 Aug 2028
    with tenant_scope(tenant_a):
        policy = db.session.execute(select(TenantPolicy)).scalar_one()
        policy.witness_code_cycle_years = 3
        commit()
    assert statuses(tenant_a, acc.id)["28"] == DueStatus.due_soon  # due 1 Aug 2026: 47 days
    with tenant_scope(tenant_a):
        policy = db.session.execute(select(TenantPolicy)).scalar_one()
        policy.witness_due_soon_days = 10
        commit()
    assert statuses(tenant_a, acc.id)["28"] == DueStatus.ok  # 47 days > a 10-day warning


def test_non_critical_codes_take_the_status_of_their_cluster(tenant_a):
    acc = ms_acc(tenant_a)
    record(tenant_a, acc.id, iaf_code="3", witnessed_on=date(2024, 3, 1))  # Food, critical
    record(tenant_a, acc.id, iaf_code="12", witnessed_on=date(2020, 1, 1))  # Chemicals
    record(tenant_a, acc.id, iaf_code="34", witnessed_on=date(2025, 1, 1))  # Construction
    got = statuses(tenant_a, acc.id)
    assert got["1"] == DueStatus.ok  # Food covered by the witness in 3
    assert got["12"] == DueStatus.overdue  # Chemicals last witnessed in 2020
    assert got["10"] == DueStatus.never  # its critical code is not current: no propagation
    assert got["17"] == DueStatus.never  # no code of Mechanical witnessed
    assert got["34"] == DueStatus.ok
    assert got["28"] == DueStatus.never  # a critical code needs its own witness
    with tenant_scope(tenant_a):
        m = md17.matrix(load_acc(acc.id), today=T)
    food = next(c for c in m.clusters if c.cluster == "Food")
    assert food.last_witnessed_on == date(2024, 3, 1)
    assert next(r for r in m.rows if r.code == "1").via_cluster


def test_a_cluster_witness_covers_non_critical_codes_only_while_its_critical_codes_are_current(
        tenant_a):
    # Mechanical: 17 and 18 non-critical, 20 critical (MD 17 seed; DOMAIN.md §2.1).
    acc = ms_acc(tenant_a, lines=({"standard": "ISO 9001:2015", "iaf_codes": "17; 18; 20"},))
    record(tenant_a, acc.id, iaf_code="17", witnessed_on=date(2025, 2, 1))
    got = statuses(tenant_a, acc.id)
    assert got["20"] == DueStatus.never
    assert got["17"] == DueStatus.ok  # its own witness
    assert got["18"] == DueStatus.never  # critical 20 not current: 17's witness does not count
    with tenant_scope(tenant_a):
        row = next(r for r in md17.matrix(load_acc(acc.id), today=T).rows if r.code == "18")
    assert not row.via_cluster and row.critical_not_current
    record(tenant_a, acc.id, iaf_code="20", witnessed_on=date(2025, 3, 1))
    got = statuses(tenant_a, acc.id)
    assert got["20"] == got["18"] == DueStatus.ok
    with tenant_scope(tenant_a):
        row = next(r for r in md17.matrix(load_acc(acc.id), today=T).rows if r.code == "18")
    assert row.via_cluster and row.due_on == date(2030, 3, 1)
    # The critical code falls overdue: the others are back on their own witnesses.
    got = statuses(tenant_a, acc.id, today=date(2030, 3, 2))
    assert got["20"] == DueStatus.overdue
    assert got["17"] == DueStatus.overdue and got["18"] == DueStatus.never


def test_a_partial_remote_witness_counts_but_an_unsatisfactory_one_does_not(tenant_a):
    acc = ms_acc(tenant_a)
    record(tenant_a, acc.id, iaf_code="28", extent="partial", mode="remote",
           witnessed_on=date(2025, 2, 1))
    record(tenant_a, acc.id, iaf_code="20", outcome="unsatisfactory",
           witnessed_on=date(2025, 2, 1))
    record(tenant_a, acc.id, iaf_code="22", outcome="findings", witnessed_on=date(2025, 2, 1))
    got = statuses(tenant_a, acc.id)
    assert got["28"] == DueStatus.ok
    assert got["20"] == DueStatus.never
    assert got["22"] == DueStatus.ok


def test_a_tenants_own_clusters_decide_what_a_witness_covers(tenant_a, tenant_b):
    acc = ms_acc(tenant_a)
    record(tenant_a, acc.id, iaf_code="28", witnessed_on=date(2025, 2, 1))
    assert statuses(tenant_a, acc.id)["34"] == DueStatus.ok  # same cluster "Construction"
    with tenant_scope(tenant_a):
        set_term_grouping(TermKind.iaf_code, "34", group="Engineering services",
                          is_critical=False)
        commit()
    assert statuses(tenant_a, acc.id)["34"] == DueStatus.never
    other = ms_acc(tenant_b, name="Bravo Certifier Ltd")
    record(tenant_b, other.id, iaf_code="28", witnessed_on=date(2025, 2, 1))
    assert statuses(tenant_b, other.id)["34"] == DueStatus.ok  # tenant B keeps the seed


def test_every_standard_has_its_own_clusters(tenant_a):
    acc = ms_acc(tenant_a, lines=(QMS, {"standard": "ISO 14001:2015", "iaf_codes": "28; 34"}))
    record(tenant_a, acc.id, iaf_code="28", witnessed_on=date(2025, 2, 1))
    with tenant_scope(tenant_a):
        rows = {(r.standard, r.code): r.status
                for r in md17.matrix(load_acc(acc.id), today=T).rows}
    assert rows[("ISO 9001:2015", "34")] == DueStatus.ok
    assert rows[("ISO 14001:2015", "34")] == DueStatus.never


def test_an_applicant_may_be_witnessed_before_the_grant(tenant_a):
    acc = ms_acc(tenant_a, grant=False)
    record(tenant_a, acc.id, iaf_code="28", audit_type="initial_stage2")
    with tenant_scope(tenant_a):
        row = next(r for r in md17.matrix(load_acc(acc.id)).rows if r.code == "28")
    assert (row.line_status, row.status) == ("applied", DueStatus.ok)


def test_overdue_critical_is_empty_for_other_programmes(tenant_a):
    acc = cal_acc(tenant_a)
    with tenant_scope(tenant_a):
        assert md17.overdue_critical(load_acc(acc.id)) == []


# -- who may write ------------------------------------------------------------------------------


def test_an_assessor_writes_only_for_an_assessment_on_whose_team_they_are(
        app, tenant_a, make_user):
    acc = ms_acc(tenant_a)
    visit = plan(tenant_a, acc.id)
    assessor = make_user(tenant_a, "ann@alpha.example.org", [Role.assessor], name="Ann")
    with app.test_request_context(), tenant_scope(tenant_a):
        from flask import g
        from flask_login import login_user

        from accreditor.auth.models import Membership

        login_user(assessor)
        g.membership = db.session.execute(select(Membership).where(
            Membership.user_id == assessor.id)).scalar_one()
        with pytest.raises(PermissionDenied):
            witness.record_witness(load_acc(acc.id), **ms_data(assessment_id=str(visit)))
        with pytest.raises(PermissionDenied):
            witness.record_witness(load_acc(acc.id), **ms_data())  # no assessment at all
        db.session.rollback()
    on_team(tenant_a, visit, assessor, role="assessor")
    with app.test_request_context(), tenant_scope(tenant_a):
        login_user(assessor)
        g.membership = db.session.execute(select(Membership).where(
            Membership.user_id == assessor.id)).scalar_one()
        w = witness.record_witness(load_acc(acc.id), **ms_data(assessment_id=str(visit)))
        assert w.assessment_id == visit
        db.session.rollback()


# -- the pages ----------------------------------------------------------------------------------


def form_data(**kw) -> dict:
    data = ms_data(**kw)
    data["witnessed_on"] = data["witnessed_on"].isoformat()
    return {k: ("" if v is None else v) for k, v in data.items()}


def test_a_manager_records_a_witness_through_the_form(client, tenant_a, manager, login_as):
    acc = ms_acc(tenant_a)
    visit = plan(tenant_a, acc.id)
    login_as(manager)
    page = client.get(f"/alpha/witnesses/new?accreditation_id={acc.id}")
    assert page.status_code == 200
    assert "28 – Construction" in text(page) and "ISO 9001:2015" in text(page)
    resp = client.post(f"/alpha/witnesses/new?accreditation_id={acc.id}",
                       data=form_data(assessment_id=str(visit)), follow_redirects=True)
    assert resp.status_code == 200
    assert "Witness recorded." in flashes(resp)
    body = text(resp)
    assert "Bricks & Mortar plc" in body and "J. Auditor (lead), K. Expert" in body
    assert "IAF 28" in body and "(Construction)" in body and "Leeds site" in body


def test_the_new_page_without_an_accreditation_offers_the_live_ones(
        client, tenant_a, manager, login_as):
    ms_acc(tenant_a)
    cal_acc(tenant_a)
    login_as(manager)
    body = text(client.get("/alpha/witnesses/new?q=Precision"))
    assert "Precision Metrology Ltd" in body and "Certify Ltd" not in body


def test_a_lab_form_asks_for_a_discipline_of_the_scope(client, tenant_a, manager, login_as):
    acc = cal_acc(tenant_a)
    login_as(manager)
    page = text(client.get(f"/alpha/witnesses/new?accreditation_id={acc.id}"))
    assert "Discipline" in page and "Pressure" in page and "IAF code" not in page
    resp = client.post(f"/alpha/witnesses/new?accreditation_id={acc.id}", data={
        "activity": "calibration", "cab_personnel": "T. Technician", "category": "",
        "extent": "full", "mode": "onsite", "outcome": "satisfactory",
        "witnessed_on": TODAY.isoformat()})
    assert resp.status_code == 400
    assert "field of the accreditation's scope" in field_error(resp, "category")


def test_the_form_shows_a_refusal_beside_its_field(client, tenant_a, manager, login_as):
    acc = ms_acc(tenant_a)
    login_as(manager)
    resp = client.post(f"/alpha/witnesses/new?accreditation_id={acc.id}",
                       data=form_data(iaf_code="5"))
    assert resp.status_code == 400
    assert "IAF code 5 is not in the scope for ISO 9001:2015" in field_error(resp, "iaf_code")
    with tenant_scope(tenant_a):
        assert db.session.execute(select(Witness)).scalars().all() == []


def test_the_form_asks_for_the_place_beside_the_field(client, tenant_a, manager, login_as):
    acc = ms_acc(tenant_a)
    login_as(manager)
    page = client.get(f"/alpha/witnesses/new?accreditation_id={acc.id}")
    assert "Remote — video link to the client's site" in text(page)  # the field's help
    resp = client.post(f"/alpha/witnesses/new?accreditation_id={acc.id}",
                       data=form_data(place="", mode="remote"))
    assert resp.status_code == 400
    assert "Give the place of the witnessed activity" in field_error(resp, "place")
    resp = client.post(f"/alpha/witnesses/new?accreditation_id={acc.id}", follow_redirects=True,
                       data=form_data(place="Remote — video link to the client's site",
                                      mode="remote"))
    assert "Witness recorded." in flashes(resp)
    assert "Remote — video link to the client's site" in text(resp)


def test_editing_a_record_saves_the_change(client, tenant_a, manager, login_as):
    acc = ms_acc(tenant_a)
    wid = record(tenant_a, acc.id)
    login_as(manager)
    page = client.get(f"/alpha/witnesses/{wid}/edit")
    assert page.status_code == 200 and 'value="Bricks &amp; Mortar plc"' in page.get_data(
        as_text=True)
    resp = client.post(f"/alpha/witnesses/{wid}/edit",
                       data=form_data(extent="partial", place="Remote, video platform"))
    assert resp.status_code == 302
    w = get_witness(tenant_a, wid)
    assert (w.extent, w.place) == ("partial", "Remote, video platform")
    resp = client.post(f"/alpha/witnesses/{wid}/edit", data=form_data(
        witnessed_on=TODAY + timedelta(days=2), extent="full"))
    assert resp.status_code == 400
    assert "in the future" in field_error(resp, "witnessed_on")
    assert get_witness(tenant_a, wid).extent == "partial"  # nothing half-saved


def test_the_matrix_page_shows_each_status_and_the_critical_problems(
        client, tenant_a, manager, login_as):
    acc = ms_acc(tenant_a)
    record(tenant_a, acc.id, iaf_code="3", witnessed_on=TODAY - timedelta(days=30))
    record(tenant_a, acc.id, iaf_code="12",
           witnessed_on=TODAY - relativedelta(years=5) + timedelta(days=30))
    record(tenant_a, acc.id, iaf_code="20", witnessed_on=TODAY - relativedelta(years=6))
    login_as(manager)
    resp = client.get(f"/alpha/witnesses/accreditation/{acc.id}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)

    def status_of(code):
        row = html.split(f'data-code="ISO 9001:2015|{code}"')[1].split("</tr>")[0]
        return row.split('data-status="')[1].split('"')[0]

    assert [status_of(c) for c in ("3", "12", "20", "28", "1", "17")] == [
        "ok", "due_soon", "overdue", "never", "ok", "never"]
    # 17 (Mechanical) is not covered through its cluster: critical 20 is overdue, 22 never.
    row_17 = html.split('data-code="ISO 9001:2015|17"')[1].split("</tr>")[0]
    assert "a critical code of the cluster is not current" in row_17
    problems = html.split('data-testid="critical-problems"')[1].split("</div>")[0]
    assert "IAF 20" in problems and "IAF 28" in problems and "IAF 3;" not in problems
    assert "IAF MD 17 coverage matrix" in html


def test_other_programmes_show_the_history_by_field_clearly_labelled(
        client, tenant_a, manager, login_as):
    acc = cal_acc(tenant_a)
    base = {"activity": "calibration", "client_name": None, "audit_type": None,
            "standard": None, "iaf_code": None, "category": "PRES"}
    record(tenant_a, acc.id, **base, witnessed_on=date(2025, 3, 1))
    record(tenant_a, acc.id, **base, witnessed_on=date(2026, 2, 1))
    login_as(manager)
    resp = client.get(f"/alpha/witnesses/accreditation/{acc.id}")
    body = text(resp)
    assert "IAF MD 17 does not apply" in body and "IAF MD 17 coverage matrix" not in body
    history = resp.get_data(as_text=True).split('data-testid="history"')[1].split("</table>")[0]
    assert "Pressure" in history and "2026-02-01" in history and ">2<" in history


def test_the_index_filters_by_cab_activity_and_dates(client, tenant_a, manager, login_as):
    ms = ms_acc(tenant_a)
    lab = cal_acc(tenant_a)
    record(tenant_a, ms.id, client_name="Early Client Ltd", witnessed_on=date(2025, 1, 5))
    record(tenant_a, ms.id, client_name="Late Client Ltd", witnessed_on=date(2026, 1, 5))
    record(tenant_a, lab.id, activity="calibration", client_name="Lab Customer",
           audit_type=None, standard=None, iaf_code=None, category="PRES",
           witnessed_on=date(2026, 1, 6))
    login_as(manager)
    body = text(client.get(f"/alpha/witnesses/?cab_id={ms.cab_id}"))
    assert "Early Client Ltd" in body and "Late Client Ltd" in body and "Lab Customer" not in body
    body = text(client.get("/alpha/witnesses/?activity=calibration"))
    assert "Lab Customer" in body and "Late Client Ltd" not in body
    body = text(client.get("/alpha/witnesses/?date_from=2025-06-01&date_to=2026-01-05"))
    assert "Late Client Ltd" in body and "Early Client Ltd" not in body
    assert "Lab Customer" not in body


def test_decision_makers_read_but_do_not_write(client, tenant_a, make_user, login_as):
    acc = ms_acc(tenant_a)
    wid = record(tenant_a, acc.id)
    dm = make_user(tenant_a, "dm@alpha.example.org", [Role.decision_maker], name="Dee")
    login_as(dm)
    matrix = client.get(f"/alpha/witnesses/accreditation/{acc.id}")
    assert matrix.status_code == 200 and "IAF MD 17 coverage matrix" in text(matrix)
    page = client.get(f"/alpha/witnesses/{wid}")
    assert page.status_code == 200 and f"/witnesses/{wid}/edit" not in page.get_data(as_text=True)
    assert client.get(f"/alpha/witnesses/new?accreditation_id={acc.id}").status_code == 403
    assert client.post(f"/alpha/witnesses/{wid}/edit", data=form_data()).status_code == 403


def test_an_assessor_off_the_team_cannot_open_the_edit_form(client, tenant_a, make_user,
                                                           login_as):
    acc = ms_acc(tenant_a)
    visit = plan(tenant_a, acc.id)
    wid = record(tenant_a, acc.id, assessment_id=str(visit))
    outsider = make_user(tenant_a, "out@alpha.example.org", [Role.assessor], name="Otto")
    member = make_user(tenant_a, "lead@alpha.example.org", [Role.assessor], name="Lea")
    on_team(tenant_a, visit, member)
    login_as(outsider)
    assert client.get(f"/alpha/witnesses/{wid}/edit").status_code == 403
    resp = client.post(f"/alpha/witnesses/new?accreditation_id={acc.id}",
                       data=form_data(assessment_id=str(visit)))
    assert resp.status_code == 403 and "team of the linked" in text(resp)
    login_as(member)
    resp = client.post(f"/alpha/witnesses/{wid}/edit",
                       data=form_data(assessment_id=str(visit), outcome="findings"))
    assert resp.status_code == 302 and get_witness(tenant_a, wid).outcome == "findings"


def test_cab_users_and_other_tenants_get_404(client, tenant_a, tenant_b, make_user, login_as):
    acc = ms_acc(tenant_a)
    wid = record(tenant_a, acc.id)
    cab_user = create_cab_user(tenant_a, SimpleNamespace(id=acc.cab_id), "cab@certify.example.org", name="Cal")
    login_as(cab_user)
    for url in ("/alpha/witnesses/", f"/alpha/witnesses/{wid}",
                f"/alpha/witnesses/accreditation/{acc.id}"):
        assert client.get(url).status_code == 404
    other = make_user(tenant_b, "mgr@bravo.example.org", [Role.manager], name="Bo")
    login_as(other)
    assert client.get(f"/bravo/witnesses/{wid}").status_code == 404
    assert client.get(f"/bravo/witnesses/accreditation/{acc.id}").status_code == 404
    assert client.get(f"/bravo/witnesses/{wid}/edit").status_code == 404


# -- query counts -------------------------------------------------------------------------------


def _codes(n: int) -> list[dict]:
    """Scope lines with ``n`` IAF codes in all, over ISO 9001 and ISO 14001."""
    first = list(range(1, min(n, 20) + 1))
    second = list(range(1, n - len(first) + 1))
    lines = [{"standard": "ISO 9001:2015", "iaf_codes": "; ".join(map(str, first))}]
    if second:
        lines.append({"standard": "ISO 14001:2015", "iaf_codes": "; ".join(map(str, second))})
    return lines


def test_the_matrix_page_runs_a_fixed_number_of_queries(client, tenant_a, manager, login_as,
                                                        assert_max_queries):
    small = ms_acc(tenant_a, lines=_codes(3), name="Small Certifier Ltd")
    large = ms_acc(tenant_a, lines=_codes(40), name="Large Certifier Ltd")
    for code in ("1", "2", "3"):
        record(tenant_a, small.id, iaf_code=code)
    for code in map(str, range(1, 21)):
        record(tenant_a, large.id, iaf_code=code)
        record(tenant_a, large.id, iaf_code=code, standard="ISO 14001:2015")
    login_as(manager)
    counts = []
    for acc_id, rows in ((small.id, 3), (large.id, 40)):
        url = f"/alpha/witnesses/accreditation/{acc_id}"
        with assert_max_queries(12) as q:
            resp = client.get(url)
        assert resp.get_data(as_text=True).count("data-code=") == rows
        counts.append(q.count)
    assert counts[0] == counts[1]


def test_the_index_runs_a_fixed_number_of_queries(client, tenant_a, manager, login_as,
                                                  assert_max_queries):
    acc = ms_acc(tenant_a)
    counts = []
    for n in (3, 40):
        while True:
            with tenant_scope(tenant_a):
                have = len(db.session.execute(select(Witness.id)).all())
            if have >= n:
                break
            record(tenant_a, acc.id, client_name=f"Client {have}")
        login_as(manager)
        with assert_max_queries(9) as q:
            resp = client.get("/alpha/witnesses/")
        assert resp.get_data(as_text=True).count("data-witness=") == n
        counts.append(q.count)
    assert counts[0] == counts[1]
