"""Time and SQL statements of recording accreditation decisions on a large scope.

Usage: ``.venv/bin/python bench/decision_record.py [--lines 2000] [--runs 3] [--pg [ADMIN_URL]]
[--no-sqlite]``

Issue 6 asks that recording a decision on a 2,000-line scope — scope events, status, schedule
version, directory entry — completes within one request, well under a second, on SQLite and
PostgreSQL. For each run this builds a calibration laboratory applying for ``--lines`` lines
(inserted in bulk) with an initial assessment whose report recommends the grant, then records,
each through ``decisions.services.record_decision`` and committed as a request would:

* the initial grant of every line (the cycle starts, the programme of visits is proposed);
* a partial suspension of half the lines;
* a reinstatement of them;
* a full suspension.

It prints per decision the median and worst time of the request's work (``record_decision`` and
its commit: scope events, status, schedule version, directory entry) with its SQL statements, and
apart from it the PDF job the commit queued (the RQ workers run it in production; without Redis
it runs in-process after the commit).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import (  # noqa: E402  (bench/ is on sys.path)
    add_database_options,
    built_app,
    counting,
    run_databases,
)

LINE = {"discipline": "PRES", "quantity": "Pressure gauges (hydraulic)", "range_min": "0",
        "range_max": "700", "range_unit": "bar", "cmc": "0.025", "cmc_unit": "%",
        "remarks": "By comparison with a dead-weight tester", "location": "A"}


def build(n_lines: int, runs: int) -> dict:
    """One tenant, a decision maker, and ``runs`` laboratories ready for their grant."""
    from sqlalchemy import insert

    from accreditor.assessments.models import Assessment, TeamAssignment
    from accreditor.auth.models import Membership, MembershipRole, User
    from accreditor.auth.passwords import hash_password
    from accreditor.cabs.models import Cab, CabLocation
    from accreditor.core.db import commit
    from accreditor.core.permissions import Role
    from accreditor.core.tenancy import set_current_tenant
    from accreditor.extensions import db
    from accreditor.refdata import services as refdata
    from accreditor.scopes import services as scopes
    from accreditor.scopes.models import ScopeItem
    from accreditor.tenants.services import create_tenant

    tenant = create_tenant(slug="bench", name="Bench Accreditation Service", country="GB")
    set_current_tenant(tenant)
    programme = refdata.programme_by_code("17025-C")
    users = {}
    for key, role in (("maker", Role.decision_maker), ("lead", Role.assessor)):
        user = User(email=f"{key}@bench.example.org", name=f"Bench {key}",
                    password_hash=hash_password("Bench-Decisions-2026"))
        db.session.add(user)
        db.session.flush()
        m = Membership(user_id=user.id)
        db.session.add(m)
        db.session.flush()
        db.session.add(MembershipRole(membership_id=m.id, role=role.value))
        users[key] = user.id
    cases = []
    start = date.today() - timedelta(days=40)
    for run in range(runs):
        cab = Cab(legal_name=f"Bench Calibration {run} Ltd", country="GB")
        db.session.add(cab)
        db.session.flush()
        db.session.add(CabLocation(cab_id=cab.id, code="A", name="Main laboratory",
                                   address="1 Bench Road, Staines", country="GB"))
        acc = scopes.create_accreditation(cab, programme)
        db.session.flush()
        db.session.execute(insert(ScopeItem), [
            {"tenant_id": tenant.id, "cab_id": cab.id, "accreditation_id": acc.id,
             "position": i + 1, "status": "applied",
             "fields": {**LINE, "range_max": str(100 + i)},
             "summary": f"Pressure gauges (hydraulic) 0 to {100 + i} bar, CMC 0.025 %"}
            for i in range(n_lines)])
        assessment = Assessment(
            cab_id=cab.id, accreditation_id=acc.id, type="initial", mode="onsite",
            status="report_issued", planned_start_on=start, planned_end_on=start,
            recommendation="grant", report_summary="Meets the requirements.")
        db.session.add(assessment)
        db.session.flush()
        db.session.add(TeamAssignment(cab_id=cab.id, assessment_id=assessment.id,
                                      user_id=users["lead"], role="lead"))
        cases.append({"acc": acc.id, "assessment": assessment.id})
    commit()
    return {"tenant": tenant.id, "maker": users["maker"], "cases": cases}


def run(uri: str, label: str, n_lines: int, runs: int) -> list[str]:
    from flask import g
    from flask_login import login_user
    from sqlalchemy import select

    from accreditor.auth.models import User
    from accreditor.auth.services import membership_in
    from accreditor.core import jobs
    from accreditor.core.tenancy import set_current_tenant
    from accreditor.decisions import services
    from accreditor.extensions import db
    from accreditor.scopes.models import Accreditation, ScopeItem
    from accreditor.tenants.models import Tenant

    app, data, seconds = built_app(uri, lambda: build(n_lines, runs))
    timings: dict[str, list[float]] = {}
    statements: dict[str, list[int]] = {}

    def timed(name: str, acc_id: int, **kw) -> None:
        with app.test_request_context():
            tenant = db.session.get(Tenant, data["tenant"])
            set_current_tenant(tenant)
            user = db.session.get(User, data["maker"])
            login_user(user)
            g.membership = membership_in(user, tenant)
            acc = db.session.get(Accreditation, acc_id)
            with counting(db.engine) as counter:
                t0 = time.perf_counter()
                services.record_decision(
                    acc, rationale="Bench decision.", effective_on=date.today(),
                    maker_ids=[data["maker"]], **kw)
                db.session.commit()
                elapsed = (time.perf_counter() - t0) * 1000
            timings.setdefault(name, []).append(elapsed)
            statements.setdefault(name, []).append(counter.count)
            # The jobs the commit queued (the certificate and schedule PDFs): on the RQ workers
            # in production, in-process after the response's commit without Redis.
            t0 = time.perf_counter()
            jobs.run_ready_jobs()
            timings.setdefault(f"{name}: PDF job", []).append((time.perf_counter() - t0) * 1000)
            statements.setdefault(f"{name}: PDF job", []).append(0)
            db.session.remove()

    for case in data["cases"]:
        timed("grant", case["acc"], kind="grant", input_ids=[case["assessment"]],
              assessment_id=case["assessment"])
        with app.app_context():
            set_current_tenant(db.session.get(Tenant, data["tenant"]))
            ids = db.session.execute(select(ScopeItem.id).where(
                ScopeItem.accreditation_id == case["acc"]).order_by(ScopeItem.id)).scalars().all()
        half = ids[: len(ids) // 2]
        timed("partial suspension", case["acc"], kind="suspend", item_ids=half,
              suspension_type="imposed", extent="partial", input_ids=[], assessment_id=None)
        timed("reinstatement", case["acc"], kind="reinstate", item_ids=half,
              input_ids=[case["assessment"]], assessment_id=case["assessment"])
        timed("full suspension", case["acc"], kind="suspend", item_ids=ids,
              suspension_type="financial", extent="full", input_ids=[], assessment_id=None)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    out = [f"{label}: {n_lines} lines, {runs} runs (built in {seconds:.1f} s)"]
    for name, values in timings.items():
        q = statements[name]
        qs = f"{min(q)}" if min(q) == max(q) else f"{min(q)}–{max(q)}"
        out.append(f"  {name:<30} median {statistics.median(values):7.1f} ms  "
                   f"max {max(values):7.1f} ms  {qs:>7} SQL")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    add_database_options(parser)
    args = parser.parse_args()
    for line in run_databases(lambda uri, label: run(uri, label, args.lines, args.runs), args,
                              prefix="accreditor-bench-decisions-"):
        print(line)


if __name__ == "__main__":
    main()
