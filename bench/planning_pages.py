"""SQL statements and time of the planning pages at size (issue 4: "the tenant calendar and the
assessor register with 500 assessors and 5,000 assessments render with a bounded query count").

Usage: ``.venv/bin/python bench/planning_pages.py [--assessors 500] [--assessments 5000]
[--runs 15] [--pg [ADMIN_URL]]``

Builds one tenant with ``--assessors`` assessors (profile, one or two authorisations each),
300 CABs with an accreditation each, and ``--assessments`` assessments spread over the 24
months around today (about 210 a month), each with a lead and one to three team members. Then,
through the real HTTP stack (test client, signed in), it requests each page ``--runs`` times
after two warm-up requests and prints, per page, the SQL statements per request (the
session's user load and tenant resolution included) and the median and 90th-percentile time:

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
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import counting  # noqa: E402  (bench/ is on sys.path)

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


def measure(app, engine, client, url: str, runs: int) -> tuple[list[float], list[int], int]:
    timings, per_run, status = [], [], 0
    for i in range(runs + 2):
        with counting(engine) as counter:
            t0 = time.perf_counter()
            resp = client.get(url)
            elapsed = (time.perf_counter() - t0) * 1000
        status = resp.status_code
        if i >= 2:  # two warm-up requests
            timings.append(elapsed)
            per_run.append(counter.count)
    return timings, per_run, status


def run(uri: str, label: str, args) -> list[str]:
    from accreditor import create_app
    from accreditor.extensions import db
    from accreditor.refdata.services import load_platform_refdata

    app = create_app({"ENV": "testing", "SQLALCHEMY_DATABASE_URI": uri, "REDIS_URL": None,
                      "SERVER_NAME": "localhost", "LOG_LEVEL": "WARNING"})
    with app.app_context():
        from accreditor.core.db import commit

        db.create_all()
        load_platform_refdata()
        commit()
        t0 = time.perf_counter()
        data = build(args.assessors, args.assessments)
        build_s = time.perf_counter() - t0
        if db.engine.dialect.name == "postgresql":
            # Planner statistics, as autovacuum would have gathered on a live database.
            from sqlalchemy import text

            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        engine = db.engine
    # Requests run outside any app context, so each gets its own (fresh g and session).
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
    ]
    if "tenant.assessors.index" in app.view_functions:
        pages.append(("manager", "assessor register (page 1)", f"/{slug}/assessors/"))
    else:
        lines.append("  (no tenant.assessors.index endpoint in this app: register skipped)")
    clients = {}
    for who in ("manager", "assessor"):
        c = app.test_client()
        resp = c.post("/login", data={"email": data[who], "password": PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        clients[who] = c
    clients[None] = app.test_client()
    width = max(len(p[1]) for p in pages)
    for who, name, url in pages:
        try:
            timings, per_run, status = measure(app, engine, clients[who], url, args.runs)
        except Exception as exc:  # another page's bug must not hide the others' numbers
            lines.append(f"  {name:<{width}}  FAILED: {type(exc).__name__}: {exc}")
            continue
        median = statistics.median(timings)
        p90 = sorted(timings)[max(0, int(len(timings) * 0.9) - 1)]
        q = f"{min(per_run)}" if min(per_run) == max(per_run) else f"{min(per_run)}–{max(per_run)}"
        lines.append(f"  {name:<{width}}  HTTP {status}  {q:>5} SQL  median {median:7.1f} ms"
                     f"  p90 {p90:7.1f} ms")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assessors", type=int, default=500)
    parser.add_argument("--assessments", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--pg", nargs="?", const="", default=None, metavar="ADMIN_URL",
                        help="also on a throwaway PostgreSQL database on this server")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()

    out: list[str] = []
    if not args.no_sqlite:
        work = Path(tempfile.mkdtemp(prefix="planning-bench-"))
        try:
            out += run(f"sqlite:///{work / 'bench.db'}", "SQLite", args)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    test_url = os.environ.get("TEST_DATABASE_URL")
    if args.pg is not None or test_url:
        out += run_pg(args, test_url)
    print("\n".join(out))
    return 0


def run_pg(args, test_url: str | None) -> list[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = args.pg or os.environ.get("PG_ADMIN_URL")
    if not admin and test_url:
        admin = make_url(test_url).set(database="postgres").render_as_string(
            hide_password=False)
    admin = admin or "postgresql://postgres@127.0.0.1:5432/postgres"
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    name = f"accreditor_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        url = make_url(admin).set(database=name, drivername="postgresql+psycopg")
        return run(url.render_as_string(hide_password=False), "PostgreSQL", args)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
