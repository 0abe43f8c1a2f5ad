"""SQL statements and time of the findings list and the managers' dashboard at size: 50,000
findings over 500 CABs.

Usage: ``.venv/bin/python bench/findings_dashboard.py [--cabs 500] [--findings 50000]
[--runs 5] [--pg [ADMIN_URL]] [--no-sqlite]``

Builds one tenant with ``--cabs`` CABs (an accreditation and two assessments each) and
``--findings`` findings spread over those assessments, inserted in bulk
(``db.session.execute(insert(Finding), rows)``): a realistic mix of grades (ANAB preset: major,
minor, observation) and statuses (a third closed, a quarter open, some answered, plans accepted,
drafts and withdrawn), closed ones issued over the last two years and open ones over the last
five months, with due dates from the preset, so some are overdue; plus one proposed sanction per
CAB with an overdue finding. An assessor is lead on 40 assessments. Then, through the real HTTP stack (test client, signed in), it requests each page
``--runs`` times after one warm-up request and prints the SQL statements per request (sign-in
and tenant resolution included) and the median time:

* the dashboard (totals, by grade, page 1 of the CAB table, page 1 of the proposals);
* the manager's list, unfiltered and with status + overdue + sort-by-CAB;
* the assessor's list (their 40 assessments, answers awaiting review first);
* the CSV export of the open findings (every row, streamed).

The data goes into a throwaway SQLite file, and with ``--pg`` (or when ``TEST_DATABASE_URL`` is
set) also into a throwaway PostgreSQL database created on that server and dropped at the end, so
nothing is left behind either way.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import (  # noqa: E402  (bench/ is on sys.path)
    add_database_options,
    built_app,
    run_databases,
    signed_in,
    time_pages,
)

PASSWORD = "Bench-Findings-Dashboard-42"
# (status, weight); observations are issued closed, drafts and recorded ones have no dates.
STATUSES = [("closed", 33), ("open", 25), ("responded", 10), ("plan_accepted", 10),
            ("draft", 4), ("recorded", 4), ("withdrawn", 4)]
GRADES = [("major", 45), ("minor", 40), ("observation", 15)]
CLAUSES = ["6.2.2", "6.4.1", "6.4.13", "6.5.1", "7.2.2", "7.6.1", "7.7.1", "7.8.2", "8.5.1",
           "8.7.1"]


def build(n_cabs: int, n_findings: int, seed: int = 11) -> dict:
    """Create and commit the data; returns the emails and counts the pages need."""
    from sqlalchemy import insert, select

    from accreditor.assessments.models import Assessment, TeamAssignment
    from accreditor.auth.models import Membership, User
    from accreditor.auth.passwords import hash_password
    from accreditor.cabs.models import Cab, CabLocation
    from accreditor.core.db import commit
    from accreditor.core.permissions import Role
    from accreditor.core.tenancy import set_current_tenant
    from accreditor.extensions import db
    from accreditor.findings import services
    from accreditor.findings.models import Finding, SanctionProposal
    from accreditor.refdata import services as refdata
    from accreditor.scopes.models import Accreditation
    from accreditor.tenants.models import TenantPolicy
    from accreditor.tenants.services import create_tenant

    rnd = random.Random(seed)
    today = date.today()
    now = datetime.now(UTC)
    tenant = create_tenant(slug="bench", name="Bench Accreditation Service", country="GB")
    set_current_tenant(tenant)
    programme = refdata.programme_by_code("17025-T")
    if programme is None:
        sys.exit("reference data missing: run `flask refdata load` first")
    edition = [e for e in refdata.editions(programme) if e.is_current][-1]

    users = {}
    for key, role in (("manager", Role.manager), ("assessor", Role.assessor)):
        user = User(email=f"{key}@bench.example.org", name=f"Bench {key.title()}",
                    password_hash=hash_password(PASSWORD))
        db.session.add(user)
        db.session.flush()
        membership = Membership(user=user, tenant_id=tenant.id)
        membership.set_roles([role])
        db.session.add(membership)
        users[key] = user
    db.session.flush()

    cabs = [Cab(legal_name=f"Bench Laboratory {i:03d} Ltd", country="GB") for i in range(n_cabs)]
    db.session.add_all(cabs)
    db.session.flush()
    db.session.add_all([CabLocation(cab_id=c.id, code="A", name="Laboratory",
                                    address=f"{i} Bench Road", country="GB")
                        for i, c in enumerate(cabs)])
    accs = [Accreditation(cab_id=c.id, programme_id=programme.id, edition_id=edition.id,
                          status="accredited", number=f"B{i:04d}") for i, c in enumerate(cabs)]
    db.session.add_all(accs)
    db.session.flush()
    assessments = []
    for acc in accs:
        for k in range(2):
            start = today - timedelta(days=60 + 365 * k + rnd.randrange(200))
            assessments.append(Assessment(
                cab_id=acc.cab_id, accreditation_id=acc.id,
                type="surveillance" if k == 0 else "reassessment", mode="onsite",
                status="report_issued", planned_start_on=start,
                planned_end_on=start + timedelta(days=2), location_codes=["A"]))
    db.session.add_all(assessments)
    db.session.flush()
    for a in rnd.sample(assessments, min(40, len(assessments))):
        db.session.add(TeamAssignment(cab_id=a.cab_id, assessment_id=a.id,
                                      user_id=users["assessor"].id, role="lead"))

    grades = {g.key: g for g in services.active_grades()}
    policy = TenantPolicy.current()
    status_pool = [s for s, w in STATUSES for _ in range(w)]
    grade_pool = [g for g, w in GRADES for _ in range(w)]
    per = -(-n_findings // len(assessments))
    rows = []
    for a in assessments:
        for seq in range(1, per + 1):
            if len(rows) == n_findings:
                break
            grade = grades[rnd.choice(grade_pool)]
            status = rnd.choice(status_pool)
            if grade.severity == "observation" and status != "withdrawn":
                status = "closed"
            issued = status not in ("draft", "recorded", "withdrawn")
            # Findings still open were mostly issued in the last five months.
            age = rnd.randrange(5, 730 if status == "closed" else 150)
            issued_at = now - timedelta(days=age) if issued else None
            response_days = grade.response_due_days or policy.response_due_days
            evidence_days = grade.evidence_due_days or policy.evidence_due_days
            days = rnd.randrange(10, 200) if status == "closed" else None
            row = {
                "tenant_id": tenant.id, "cab_id": a.cab_id, "assessment_id": a.id,
                "accreditation_id": a.accreditation_id, "seq": seq, "grade_id": grade.id,
                "grade_label": grade.label, "severity": grade.severity,
                "response_due_days": response_days, "evidence_due_days": evidence_days,
                "closure_requires_evidence": grade.closure_requires_evidence,
                "verify_at_next_visit": grade.verify_at_next_visit,
                "standard": "ISO/IEC 17025:2017", "clause": rnd.choice(CLAUSES),
                "statement": f"Finding {seq} of assessment {a.id}: the requirement was not met.",
                "objective_evidence": "Records and items seen on site.", "location_codes": ["A"],
                "status": status, "raised_by_id": users["assessor"].id, "raised_as": "lead",
                "issued_at": issued_at,
                "response_due_on": (issued_at.date() + timedelta(days=response_days)
                                    if issued else None),
                "evidence_due_on": (issued_at.date() + timedelta(days=evidence_days)
                                    if issued else None),
                "round": 0 if status in ("open", "draft", "recorded", "withdrawn") or (
                    status == "closed" and grade.severity == "observation") else 1,
                "closed_at": (min(now, issued_at + timedelta(days=days or 0))
                              if status == "closed" else None),
                "closure_basis": (("no_response_required" if grade.severity == "observation"
                                   else "evidence_accepted") if status == "closed" else None),
                "days_to_close": days if grade.severity != "observation" else None,
            }
            rows.append(row)
    for i in range(0, len(rows), 5000):
        db.session.execute(insert(Finding), rows[i:i + 5000])
    db.session.flush()

    overdue = db.session.execute(
        select(Finding.id, Finding.cab_id, Finding.accreditation_id)
        .where(services.overdue_condition(today), Finding.status != "responded")
        .order_by(Finding.cab_id, Finding.id)).all()
    seen, proposals = set(), []
    for fid, cab_id, acc_id in overdue:
        if cab_id in seen:
            continue
        seen.add(cab_id)
        proposals.append({"tenant_id": tenant.id, "cab_id": cab_id, "accreditation_id": acc_id,
                          "finding_id": fid, "kind": "suspension", "source": "overdue_finding",
                          "scope_item_ids": [], "effective_on": today, "due_on": today,
                          "reason": "Still open after its evidence due date and the grace "
                                    "period."})
    if proposals:
        db.session.execute(insert(SanctionProposal), proposals)
    out = {"slug": tenant.slug, "manager": users["manager"].email,
           "assessor": users["assessor"].email, "findings": len(rows),
           "assessments": len(assessments), "proposals": len(proposals),
           "overdue": len(overdue)}
    commit()
    set_current_tenant(None)
    return out


def run(uri: str, label: str, args) -> list[str]:
    app, data, build_s = built_app(uri, lambda: build(args.cabs, args.findings))
    slug = data["slug"]
    lines = [f"{label}: {data['findings']} findings, {args.cabs} CABs, {data['assessments']} "
             f"assessments, {data['overdue']} overdue, {data['proposals']} proposed sanctions; "
             f"{args.runs} runs per page; data built in {build_s:.1f} s"]
    pages = [
        ("manager", "dashboard", f"/{slug}/findings/dashboard"),
        ("manager", "dashboard, CAB table page 5", f"/{slug}/findings/dashboard?page=5"),
        ("manager", "list (manager, page 1)", f"/{slug}/findings/"),
        ("manager", "list, open + overdue, sorted by CAB",
         f"/{slug}/findings/?status=any_open&overdue=1&sort=cab"),
        ("manager", "list, page 200", f"/{slug}/findings/?page=200"),
        ("assessor", "list (assessor: 40 assessments)", f"/{slug}/findings/"),
        ("manager", "CSV export, open findings", f"/{slug}/findings/export.csv?status=any_open"),
    ]
    clients = signed_in(app, {"manager": data["manager"], "assessor": data["assessor"]},
                        PASSWORD)
    return lines + time_pages(app, clients, pages, args.runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cabs", type=int, default=500)
    parser.add_argument("--findings", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    add_database_options(parser)
    args = parser.parse_args()
    print("\n".join(run_databases(lambda uri, label: run(uri, label, args), args,
                                  "findings-bench-")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
