"""Calendars: the tenant calendar (month grid, agenda, filters, navigation), a person's own
assignments, and the private iCalendar feed (shown once, stored as a hash, one active per person,
revocable, 404 for anyone who is no longer an assessor of the body), with bounded queries."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from accreditor.assessments import calendars
from accreditor.assessments.models import Assessment, CalendarToken, TeamAssignment
from accreditor.auth.models import Membership
from accreditor.cabs import services as cab_services
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from tests.assessments.assessment_helpers import LEAD, TODAY, assessor, cal_setup
from tests.auth.helpers import flashes, text
from tests.factories import create_accreditation, create_cab, create_cab_user, create_member

MONTH_START = TODAY.replace(day=1)
MID_MONTH = MONTH_START + timedelta(days=14)  # in this month's grid whatever today is
FAR = MONTH_START + timedelta(days=100)  # three months on: never in this month's grid


# -- data ---------------------------------------------------------------------------------------


def plan(tenant, acc, start: date, days: int = 2, *, type="surveillance", mode="onsite",
         status="team_confirmed", team=(), notes=None, codes=("A",)) -> Assessment:
    """An assessment straight from the model (any status), with its team."""
    with tenant_scope(tenant):
        remote = {} if mode == "onsite" else {"remote_justification": "IAF MD 4 ok",
                                              "ict_risk_note": "Tested link"}
        a = Assessment(cab_id=acc.cab_id, accreditation_id=acc.id, type=type, mode=mode,
                       status=status, planned_start_on=start,
                       planned_end_on=start + timedelta(days=days - 1),
                       location_codes=list(codes), internal_notes=notes, **remote)
        db.session.add(a)
        db.session.flush()
        for user, role in team:
            db.session.add(TeamAssignment(cab_id=acc.cab_id, assessment_id=a.id,
                                          user_id=user.id, role=str(role)))
        commit()
    return a


@pytest.fixture
def world(tenant_a):
    """Two CABs of tenant A (a calibration lab and a management-system CB) and two assessors."""
    cab, acc, _ids = cal_setup(tenant_a, legal_name="Precision Metrology Ltd")
    with tenant_scope(tenant_a):
        cab_services.add_contact(cab, name="Carla Contact", email="carla@precision.example.org",
                                 phone="+44 1234 567890")
        commit()
    cb = create_cab(tenant_a, "Quality Certification Ltd")
    cb_acc = create_accreditation(tenant_a, cb, "17021-1")
    lena = assessor(tenant_a, "lena@alpha.example.org", name="Lena Lead")
    otto = assessor(tenant_a, "otto@alpha.example.org", name="Otto Other")
    return {"cab": cab, "acc": acc, "cb": cb, "cb_acc": cb_acc, "lena": lena, "otto": otto}


def entry_ids(resp) -> set[int]:
    return {int(i) for i in re.findall(r'data-assessment="(\d+)"', resp.get_data(as_text=True))}


def calendar(client, **params):
    return client.get("/alpha/calendar/", query_string=params)


def create_token(client) -> str:
    resp = client.post("/alpha/calendar/mine/feed")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    m = re.search(r'id="feed-url"[^>]*value="([^"]+)"', resp.get_data(as_text=True))
    assert m, "the new feed address is shown"
    url = m.group(1)
    assert url.startswith("http://localhost/feeds/") and url.endswith(".ics")
    return url.removeprefix("http://localhost/feeds/").removesuffix(".ics")


def fetch(app, token: str):
    """The feed as a calendar application fetches it: no session."""
    return app.test_client().get(f"/feeds/{token}.ics")


def events(resp) -> dict[str, dict]:
    cal = Calendar.from_ical(resp.data)
    return {str(ev["uid"]): ev for ev in cal.walk("VEVENT")}


# -- the tenant calendar ------------------------------------------------------------------------


def test_calendar_opens_on_this_month_and_links_each_assessment(client, login_as, tenant_a,
                                                               manager, world):
    this = plan(tenant_a, world["acc"], MID_MONTH, team=[(world["lena"], LEAD)])
    later = plan(tenant_a, world["acc"], FAR)
    login_as(manager)
    resp = calendar(client)
    assert resp.status_code == 200
    page = text(resp)
    assert this.id in entry_ids(resp) and later.id not in entry_ids(resp)
    assert f'href="/alpha/assessments/{this.id}"' in resp.get_data(as_text=True)
    assert "Precision Metrology Ltd" in page and "(Lena Lead)" in page
    # Next, next, next: the later one comes into view; previous goes back.
    on = MONTH_START
    for _ in range(3):
        on = (on + timedelta(days=32)).replace(day=1)
    resp = calendar(client, on=on.isoformat())
    assert later.id in entry_ids(resp) and this.id not in entry_ids(resp)
    nxt = re.search(r'href="([^"]+)" rel="next"', resp.get_data(as_text=True)).group(1)
    assert "on=" + (on + timedelta(days=32)).replace(day=1).isoformat() in nxt


@pytest.mark.parametrize("params, expected", [
    ({"type": "initial"}, {"initial"}),
    ({"status": "cancelled"}, {"cancelled"}),
    ({"mode": "remote"}, {"remote"}),
    ({"cab": "cb"}, {"cb"}),
    ({"programme": "17021-1"}, {"cb"}),
    ({"person": "otto"}, {"otto-lead", "otto-member"}),
    ({"person": "otto", "lead": "1"}, {"otto-lead"}),
])
def test_filters_narrow_the_calendar(client, login_as, tenant_a, manager, world, params,
                                     expected):
    from accreditor.refdata.services import programme_by_code

    lena, otto = world["lena"], world["otto"]
    made = {
        "plain": plan(tenant_a, world["acc"], MID_MONTH, team=[(lena, LEAD)]),
        "initial": plan(tenant_a, world["acc"], MID_MONTH, type="initial"),
        "cancelled": plan(tenant_a, world["acc"], MID_MONTH, status="cancelled"),
        "remote": plan(tenant_a, world["acc"], MID_MONTH, mode="remote"),
        "cb": plan(tenant_a, world["cb_acc"], MID_MONTH, codes=()),
        "otto-lead": plan(tenant_a, world["acc"], MID_MONTH, team=[(otto, LEAD)]),
        "otto-member": plan(tenant_a, world["acc"], MID_MONTH,
                            team=[(lena, LEAD), (otto, "assessor")]),
    }
    ids = {"cb": world["cb"].id, "17021-1": programme_by_code("17021-1").id, "otto": otto.id}
    query = {("cab_id" if k == "cab" else k): ids.get(v, v) for k, v in params.items()}
    login_as(manager)
    unfiltered = entry_ids(calendar(client, view="agenda"))
    assert unfiltered == {a.id for a in made.values()}
    shown = entry_ids(calendar(client, view="agenda", **query))
    assert shown == {made[k].id for k in expected}


def test_another_tenants_assessments_never_appear(client, login_as, tenant_a, tenant_b, manager,
                                                  world):
    mine = plan(tenant_a, world["acc"], MID_MONTH)
    b_cab, b_acc, _ = cal_setup(tenant_b, legal_name="Bravo-only Lab Ltd")
    b_lead = assessor(tenant_b, "b-lead@bravo.example.org", name="Bravo-only Assessor")
    theirs = plan(tenant_b, b_acc, MID_MONTH, team=[(b_lead, LEAD)])
    login_as(manager)
    for params in ({}, {"view": "agenda"}, {"view": "agenda", "period": "week",
                                            "on": MID_MONTH.isoformat()},
                   {"person": b_lead.id}, {"cab_id": b_cab.id}):
        resp = calendar(client, **params)
        assert resp.status_code == 200
        assert theirs.id not in entry_ids(resp)
        assert "Bravo-only" not in text(resp)
    assert mine.id in entry_ids(calendar(client))


def test_agenda_week_lists_only_that_week(client, login_as, tenant_a, manager, world):
    monday = MID_MONTH - timedelta(days=MID_MONTH.weekday())
    inside = plan(tenant_a, world["acc"], monday + timedelta(days=2))
    spanning = plan(tenant_a, world["acc"], monday - timedelta(days=2), days=4)  # Sat–Tue
    after = plan(tenant_a, world["acc"], monday + timedelta(days=8))
    login_as(manager)
    resp = calendar(client, view="agenda", period="week", on=monday.isoformat())
    assert entry_ids(resp) == {inside.id, spanning.id}
    assert after.id not in entry_ids(resp)
    assert "Week of" in text(resp)
    month = calendar(client, view="agenda", period="month", on=inside.planned_start_on.isoformat())
    assert inside.id in entry_ids(month)


def test_a_busy_day_shows_six_and_links_the_rest(client, login_as, tenant_a, manager, world):
    for _ in range(8):
        plan(tenant_a, world["acc"], MID_MONTH, days=1)
    login_as(manager)
    page = text(calendar(client))
    assert "+2 more" in page


def test_cab_users_get_404_and_anonymous_users_the_sign_in(client, login_as, tenant_a, world):
    cab_user = create_cab_user(tenant_a, world["cab"], "cab@precision.example.org")
    login_as(cab_user)
    assert calendar(client).status_code == 404
    assert client.get("/alpha/calendar/mine").status_code == 404
    assert client.post("/alpha/calendar/mine/feed").status_code == 404
    client.post("/logout")
    resp = calendar(client)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# -- my assignments -----------------------------------------------------------------------------


def test_mine_shows_only_my_assignments_with_my_role(client, login_as, tenant_a, world):
    lena, otto = world["lena"], world["otto"]
    led = plan(tenant_a, world["acc"], TODAY + timedelta(days=10), team=[(lena, LEAD)])
    member = plan(tenant_a, world["acc"], TODAY + timedelta(days=20),
                  team=[(otto, LEAD), (lena, "technical_expert")])
    done = plan(tenant_a, world["acc"], TODAY - timedelta(days=40), status="report_issued",
                team=[(lena, "assessor")])
    not_mine = plan(tenant_a, world["acc"], TODAY + timedelta(days=5), team=[(otto, LEAD)])
    login_as(lena)
    resp = client.get("/alpha/calendar/mine")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert entry_ids(resp) == {led.id, member.id, done.id}
    assert not_mine.id not in entry_ids(resp)
    upcoming = body.split('data-testid="upcoming"')[1].split("</table>")[0]
    past = body.split('data-testid="past"')[1].split("</table>")[0]
    assert f'data-assessment="{led.id}"' in upcoming and f'data-assessment="{done.id}"' in past
    roles = re.findall(r'data-testid="role">([^<]+)<', upcoming)
    assert roles == ["Lead assessor", "Technical expert"]  # soonest first


def test_an_assessor_of_two_bodies_sees_only_this_bodys_assignments(client, login_as, tenant_a,
                                                                     tenant_b, world):
    lena = world["lena"]
    create_member(tenant_b, lena.email, [Role.assessor])
    _cab, b_acc, _ = cal_setup(tenant_b, legal_name="Bravo-only Lab Ltd")
    b_job = plan(tenant_b, b_acc, TODAY + timedelta(days=3), team=[(lena, LEAD)])
    a_job = plan(tenant_a, world["acc"], TODAY + timedelta(days=3), team=[(lena, LEAD)])
    login_as(lena)
    resp = client.get("/alpha/calendar/mine")
    assert entry_ids(resp) == {a_job.id} and b_job.id not in entry_ids(resp)
    assert "Bravo-only" not in text(resp)


# -- the feed URL -------------------------------------------------------------------------------


def test_creating_a_feed_url_shows_it_once_and_keeps_only_its_hash(client, login_as, tenant_a,
                                                                   world):
    login_as(world["lena"])
    token = create_token(client)
    with tenant_scope(tenant_a):
        rows = db.session.execute(select(CalendarToken)).scalars().all()
        events_ = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "calendar.token_created")).scalars().all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert len(events_) == 1 and token not in str(events_[0].changes)
    again = client.get("/alpha/calendar/mine")
    assert token not in again.get_data(as_text=True)
    assert "A feed address is active since" in text(again)


def test_a_new_feed_url_revokes_the_old_one(app, client, login_as, tenant_a, world):
    plan(tenant_a, world["acc"], TODAY + timedelta(days=3), team=[(world["lena"], LEAD)])
    login_as(world["lena"])
    old = create_token(client)
    assert fetch(app, old).status_code == 200
    new = create_token(client)
    assert new != old
    assert fetch(app, old).status_code == 404
    assert fetch(app, new).status_code == 200
    with tenant_scope(tenant_a):
        active = db.session.execute(select(CalendarToken).where(
            CalendarToken.revoked_at.is_(None))).scalars().all()
        revoked = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "calendar.token_revoked")).scalars().all()
    assert len(active) == 1 and len(revoked) == 1


def test_a_revoked_feed_url_is_a_404(app, client, login_as, tenant_a, world):
    login_as(world["lena"])
    token = create_token(client)
    resp = client.post("/alpha/calendar/mine/feed/revoke")
    assert resp.status_code == 302
    assert "Calendar feed URL revoked" in " ".join(flashes(client.get("/alpha/calendar/mine")))
    assert fetch(app, token).status_code == 404
    with tenant_scope(tenant_a):
        assert db.session.execute(select(AuditEvent.id).where(
            AuditEvent.action == "calendar.token_revoked")).first() is not None


def test_revoking_without_a_feed_url_is_refused_with_the_reason(client, login_as, world):
    login_as(world["lena"])
    resp = client.post("/alpha/calendar/mine/feed/revoke")
    assert resp.status_code == 409
    assert "You have no calendar feed URL to revoke." in text(resp)


def test_only_assessors_get_a_feed_url(client, login_as, manager):
    login_as(manager)
    page = client.get("/alpha/calendar/mine")
    assert page.status_code == 200 and "Create a feed address" not in text(page)
    resp = client.post("/alpha/calendar/mine/feed")
    assert resp.status_code == 403
    assert "Only assessors of this body have a calendar feed." in text(resp)
    assert db.session.execute(select(CalendarToken).execution_options(all_tenants=True)
                              ).first() is None


# -- the feed -----------------------------------------------------------------------------------


def test_the_feed_lists_my_assignments_without_internal_or_contact_details(
        app, client, login_as, tenant_a, tenant_b, world):
    lena, otto = world["lena"], world["otto"]
    start = TODAY + timedelta(days=12)
    led = plan(tenant_a, world["acc"], start, days=3, type="reassessment",
               team=[(lena, LEAD)], notes="secret-internal-note", codes=("A", "B"))
    cancelled = plan(tenant_a, world["acc"], start, status="cancelled",
                     team=[(lena, "assessor")])
    remote = plan(tenant_a, world["cb_acc"], start, mode="remote", codes=(),
                  team=[(lena, "assessor")])
    not_mine = plan(tenant_a, world["acc"], start, team=[(otto, LEAD)])
    old = plan(tenant_a, world["acc"], TODAY - timedelta(days=400), status="draft",
               team=[(lena, LEAD)])
    create_member(tenant_b, lena.email, [Role.assessor])
    _b, b_acc, _ = cal_setup(tenant_b, legal_name="Bravo-only Lab Ltd")
    plan(tenant_b, b_acc, start, team=[(lena, LEAD)])
    login_as(lena)
    token = create_token(client)

    resp = fetch(app, token)
    assert resp.status_code == 200
    assert resp.mimetype == "text/calendar"
    assert "private" in resp.headers["Cache-Control"]
    body = resp.get_data(as_text=True)
    for secret in ("secret-internal-note", "carla@precision.example.org", "Carla Contact",
                   "+44 1234 567890", "1 Test Street", "Bravo-only"):
        assert secret not in body
    evs = events(resp)
    uid = calendars.event_uid(led.id, lena.id, tenant_a)
    assert set(evs) == {uid, calendars.event_uid(cancelled.id, lena.id, tenant_a),
                        calendars.event_uid(remote.id, lena.id, tenant_a)}
    assert calendars.event_uid(not_mine.id, lena.id, tenant_a) not in evs
    assert calendars.event_uid(old.id, lena.id, tenant_a) not in evs  # over a year ago
    ev = evs[uid]
    assert ev.decoded("dtstart") == start
    assert ev.decoded("dtend") == start + timedelta(days=3)  # all-day: the day after the end
    assert str(ev["summary"]) == "Reassessment: Precision Metrology Ltd"
    assert str(ev["location"]) == "Town, GB"
    assert str(ev["status"]) == "CONFIRMED"
    assert "Your role: Lead assessor" in str(ev["description"])
    assert str(ev["url"]) == f"http://localhost/alpha/assessments/{led.id}"
    assert str(evs[calendars.event_uid(cancelled.id, lena.id, tenant_a)]["status"]) == \
        "CANCELLED"
    assert str(evs[calendars.event_uid(remote.id, lena.id, tenant_a)]["location"]) == "Remote"
    # The same event keeps its UID from one fetch to the next.
    assert uid in events(fetch(app, token))


def test_the_feed_is_a_404_once_the_person_is_no_longer_an_assessor_here(
        app, client, login_as, tenant_a, world):
    lena = world["lena"]
    plan(tenant_a, world["acc"], TODAY + timedelta(days=3), team=[(lena, LEAD)])
    login_as(lena)
    token = create_token(client)
    assert fetch(app, token).status_code == 200
    with tenant_scope(tenant_a):
        m = db.session.execute(select(Membership).where(Membership.user_id == lena.id)
                               ).scalar_one()
        m.set_roles([Role.decision_maker])
        commit()
    assert fetch(app, token).status_code == 404
    with tenant_scope(tenant_a):
        m = db.session.execute(select(Membership).where(Membership.user_id == lena.id)
                               ).scalar_one()
        m.set_roles([Role.assessor])
        m.is_active = False
        commit()
    assert fetch(app, token).status_code == 404
    with tenant_scope(tenant_a):
        db.session.execute(select(Membership).where(Membership.user_id == lena.id)
                           ).scalar_one().is_active = True
        commit()
    assert fetch(app, token).status_code == 200
    with tenant_scope(tenant_a):  # the membership removed altogether
        db.session.delete(db.session.execute(
            select(Membership).where(Membership.user_id == lena.id)).scalar_one())
        commit()
    assert fetch(app, token).status_code == 404


def test_the_feed_of_a_deactivated_body_is_a_404(app, client, login_as, tenant_a, world):
    login_as(world["lena"])
    token = create_token(client)
    assert fetch(app, token).status_code == 200
    tenant_a.is_active = False
    commit()
    assert fetch(app, token).status_code == 404


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 43, "", "../../etc/passwd"])
def test_an_unknown_feed_token_is_a_404(app, token):
    resp = app.test_client().get(f"/feeds/{token}.ics")
    assert resp.status_code == 404


def test_town_of_an_address():
    assert calendars.city_of("12 Volta Road, Newtown NT3 9CD") == "Newtown"
    assert calendars.city_of("1 Test Street\nTown\nTN1 1AA") == "Town"
    assert calendars.city_of("1 Road") is None  # a street alone is never sent
    assert calendars.city_of(None) is None


# -- bounded queries ----------------------------------------------------------------------------

CALENDAR_BOUND = 9
MINE_BOUND = 8
FEED_BOUND = 3


@pytest.mark.parametrize("n", [3, 50])
def test_pages_and_feed_run_a_bounded_number_of_queries(app, client, login_as, tenant_a,
                                                        manager, world, assert_max_queries, n):
    lena, otto = world["lena"], world["otto"]
    cabs = [world["acc"], world["cb_acc"]]
    for i in range(n):
        plan(tenant_a, cabs[i % 2], MID_MONTH - timedelta(days=i % 10), days=1 + i % 3,
             type=("surveillance", "initial")[i % 2], team=[(lena, LEAD), (otto, "assessor")])
    login_as(lena)
    token = create_token(client)
    login_as(manager)
    with assert_max_queries(CALENDAR_BOUND):
        resp = calendar(client)
    assert resp.status_code == 200 and f"{n} assessments" in text(resp)
    with assert_max_queries(CALENDAR_BOUND):
        resp = calendar(client, view="agenda")
    assert resp.status_code == 200 and len(entry_ids(resp)) == n
    with assert_max_queries(CALENDAR_BOUND):
        resp = calendar(client, view="agenda", person=otto.id, lead="", type="initial")
    assert resp.status_code == 200 and len(entry_ids(resp)) == n // 2
    login_as(lena)
    with assert_max_queries(MINE_BOUND):
        resp = client.get("/alpha/calendar/mine")
    assert resp.status_code == 200
    with assert_max_queries(FEED_BOUND):
        resp = fetch(app, token)
    assert resp.status_code == 200 and len(events(resp)) == n


@pytest.mark.parametrize("on", ["9999-12-15", "0001-01-01", "not-a-date"])
def test_a_date_at_the_ends_of_the_calendar_falls_back_to_today(client, login_as, manager, on):
    login_as(manager)
    monday = TODAY - timedelta(days=TODAY.weekday())
    this_month = f"Assessment calendar: {TODAY.strftime('%B %Y')}"
    this_week = f"Assessment calendar: Week of {monday.day} {monday.strftime('%B %Y')}"
    for view in ("month", "agenda"):
        for period in ("month", "week"):
            resp = client.get(f"/alpha/calendar/?on={on}&view={view}&period={period}")
            assert resp.status_code == 200, (view, period)
            heading = re.search(r"<h1[^>]*>(.*?)</h1>", text(resp), re.S).group(1)
            expected = this_week if view == "agenda" and period == "week" else this_month
            assert " ".join(heading.split()) == expected, (view, period)

