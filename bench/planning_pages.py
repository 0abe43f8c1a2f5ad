"""SQL statements and time of the planning pages at size (issue 4: "the tenant calendar and the
assessor register with 500 assessors and 5,000 assessments render with a bounded query count").

Usage: ``.venv/bin/python bench/planning_pages.py [--assessors 500] [--assessments 5000]
[--runs 15] [--pg [ADMIN_URL]]``

Builds one tenant with ``--assessors`` assessors (profile, one or two authorisations each),
300 CABs with an accreditation each, and ``--assessments`` assessments spread over the 24
months around today (about 210 a month), each with a lead and one to three team members. Then,
through the real HTTP stack (test client, signed in), it requests each page ``--runs`` times
after two warm-up requests and prints, per page, the SQL statements per request (the
session's user load and tenant resolution included) and the median and maximum time:

* the tenant calendar: this month's grid, the grid filtered by programme, by type and status,
  by CAB, by a lead, and the agenda of a week and of a month;
* ``mine`` for the assessor with the most assignments, and that assessor's iCalendar feed;
* the assessor register (``tenant.assessors.index``) when the app has that page.

The data goes into a throwaway SQLite file, and with ``--pg`` (or when ``TEST_DATABASE_URL``
is set) also into a throwaway PostgreSQL database created on that server (``ADMIN_URL``
default: ``PG_ADMIN_URL``, else the server of ``TEST_DATABASE_URL``'s ``postgres`` database)
and dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import (  # noqa: E402  (bench/ is on sys.path)
    add_database_options,
    built_app,
    run_databases,
    signed_in,
    time_pages,
)

PASSWORD = "Bench-Planning-Pages-42"
TYPES = ["surveillance"] * 6 + ["reassessment", "initial", "extension", "follow_up",
                                  "witness", "document_review"]
STATUSES = ["draft", "team_proposed", "team_confirmed", "plan_approved", "in_progress",
            "report_issued", "cancelled"]
PROGRAMMES = ["17025-C", "17025-T", "17021-1", "17020", "17024"]


def build(n_assessors: int, n_assessments: int, seed: int = 7) -> dict:
    """Create and commit the data; returns what the pages need (ids, emails, a feed token)."""
    from sqlalchemy import func, select

    from accreditor.assessments import calendars
    from accreditor.assessments.models import (
        Assessment,
        AssessorAuthorisation,
        AssessorProfile,
        TeamAssignment,
    )
    from accreditor.auth.models import Membership, User
    from accreditor.auth.passwords import hash_password
    from accreditor.cabs.models import Cab, CabLocation
    from accreditor.core.db import commit, utcnow
    from accreditor.core.permissions import Role
    from accreditor.core.tenancy import set_current_tenant
    from accreditor.extensions import db
    from accreditor.refdata import services as refdata
    from accreditor.scopes import services as scope_services
    from accreditor.tenants.services import create_tenant

    rnd = random.Random(seed)
    today = date.today()
    tenant = create_tenant(slug="bench", name="Bench Accreditation Service", country="GB")
    set_current_tenant(tenant)
    programmes = [refdata.programme_by_code(c) for c in PROGRAMMES]
    if any(p is None for p in programmes):
        sys.exit("reference data missing: run `flask refdata load` first")

    manager = User(email="manager@bench.example.org", name="Mia Manager",
                   password_hash=hash_password(PASSWORD))
    db.session.add(manager)
    db.session.flush()
    membership = Membership(user=manager, tenant_id=tenant.id)
    membership.set_roles([Role.manager])
    db.session.add(membership)

    people = [User(email=f"assessor{i:04d}@bench.example.org", name=f"Assessor {i:04d}",
                   password_hash=None) for i in range(n_assessors)]
    db.session.add_all(people)
    db.session.flush()
    for i, user in enumerate(people):
        m = Membership(user=user, tenant_id=tenant.id)
        m.set_roles([Role.assessor])
        db.session.add(m)
        db.session.add(AssessorProfile(user_id=user.id, organisation=f"Org {i % 40}",
                                       is_external=i % 3 == 0,
                                       last_onsite_monitoring_on=today - timedelta(days=i % 900)))
        for k in range(1 + i % 2):
            db.session.add(AssessorAuthorisation(
                user_id=user.id, role=("lead_assessor", "assessor")[(i + k) % 2],
                programme_id=programmes[(i + k) % len(programmes)].id,
                valid_from=today - timedelta(days=1500), status="approved",
                approved_at=utcnow()))
    db.session.flush()

    cabs, accs = [], []
    for i in range(300):
        cab = Cab(legal_name=f"Bench CAB {i:03d} Ltd", country="GB")
        db.session.add(cab)
        cabs.append(cab)
    db.session.flush()
    db.session.add_all([CabLocation(cab_id=cab.id, code="A", name="Head office",
                                    address=f"{i} Bench Road, Town{i % 50} BT{i % 9} 1AA",
                                    country="GB") for i, cab in enumerate(cabs)])
    for i, cab in enumerate(cabs):
        programme = programmes[i % len(programmes)]
        accs.append(scope_services.create_accreditation(
            cab, programme, ib_type="A" if programme.needs_ib_type else None))
    db.session.flush()

    first = today - timedelta(days=365)
    assessments = []
    for i in range(n_assessments):
        acc = accs[i % len(accs)]
        start = first + timedelta(days=rnd.randrange(730))
        mode = rnd.choice(["onsite"] * 6 + ["remote", "hybrid"])
        remote = {} if mode == "onsite" else {"remote_justification": "IAF MD 4",
                                              "ict_risk_note": "Link tested"}
        assessments.append(Assessment(
            cab_id=acc.cab_id, accreditation_id=acc.id, type=rnd.choice(TYPES), mode=mode,
            status=rnd.choice(STATUSES), planned_start_on=start,
            planned_end_on=start + timedelta(days=rnd.randrange(4)), location_codes=["A"],
            internal_notes="bench internal note", **remote))
    db.session.add_all(assessments)
    db.session.flush()
    rows = []
    for a in assessments:
        team = rnd.sample(people, 1 + rnd.randrange(4))
        rows += [TeamAssignment(cab_id=a.cab_id, assessment_id=a.id, user_id=u.id,
                                role="lead" if k == 0 else rnd.choice(
                                    ["assessor", "technical_expert", "observer"]))
                 for k, u in enumerate(team)]
    db.session.add_all(rows)
    db.session.flush()

    busiest_id, n_assigned = db.session.execute(
        select(TeamAssignment.user_id, func.count()).group_by(TeamAssignment.user_id)
        .order_by(func.count().desc()).limit(1)).one()
    busiest = next(u for u in people if u.id == busiest_id)
    busiest.password_hash = hash_password(PASSWORD)
    lead_id = db.session.execute(
        select(TeamAssignment.user_id).where(TeamAssignment.role == "lead")
        .group_by(TeamAssignment.user_id).order_by(func.count().desc()).limit(1)).scalar_one()
    token = calendars.create_feed_token(busiest)
    out = {"tenant_slug": tenant.slug, "manager": manager.email, "assessor": busiest.email,
           "assigned": n_assigned, "token": token, "lead_id": lead_id,
           "programme_id": programmes[0].id, "cab_id": cabs[0].id,
           "assignments": len(rows)}
    commit()
    set_current_tenant(None)
    return out


def run(uri: str, label: str, args) -> list[str]:
    app, data, build_s = built_app(uri, lambda: build(args.assessors, args.assessments))
    slug = data["tenant_slug"]
    today = date.today()
    lines = [f"{label}: {args.assessors} assessors, {args.assessments} assessments "
             f"({data['assignments']} team assignments), {args.runs} runs per page; data built "
             f"in {build_s:.1f} s"]
    pages = [
        ("manager", "calendar: this month (grid)", f"/{slug}/calendar/"),
        ("manager", "calendar: grid, programme filter",
         f"/{slug}/calendar/?programme={data['programme_id']}"),
        ("manager", "calendar: grid, type + status filters",
         f"/{slug}/calendar/?type=surveillance&status=team_confirmed"),
        ("manager", "calendar: grid, CAB filter", f"/{slug}/calendar/?cab_id={data['cab_id']}"),
        ("manager", "calendar: grid, lead filter",
         f"/{slug}/calendar/?person={data['lead_id']}&lead=1"),
        ("manager", "calendar: grid, mode filter", f"/{slug}/calendar/?mode=remote"),
        ("manager", "calendar: agenda, week",
         f"/{slug}/calendar/?view=agenda&period=week&on={today.isoformat()}"),
        ("manager", "calendar: agenda, month", f"/{slug}/calendar/?view=agenda&period=month"),
        ("assessor", f"mine ({data['assigned']} assignments)", f"/{slug}/calendar/mine"),
        (None, "iCalendar feed", f"/feeds/{data['token']}.ics"),
        ("manager", "assessor register (page 1)", f"/{slug}/assessors/"),
    ]
    clients = signed_in(app, {"manager": data["manager"], "assessor": data["assessor"]},
                        PASSWORD)
    return lines + time_pages(app, clients, pages, args.runs, warmups=2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assessors", type=int, default=500)
    parser.add_argument("--assessments", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    add_database_options(parser)
    args = parser.parse_args()
    print("\n".join(run_databases(lambda uri, label: run(uri, label, args), args,
                                  "planning-bench-")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
