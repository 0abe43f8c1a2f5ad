"""Time of the printable assessment plan as a PDF (issue 4 point 6): a plan sampling 2,000 scope
lines, gathered and rendered with fpdf2 and the bundled DejaVu fonts.

Usage: ``.venv/bin/python bench/print_pdf.py [--lines 2000] [--runs 5] [--database URL]
[--out plan.pdf]``

Builds, inside one transaction that is rolled back at the end (by default in a throwaway SQLite
file), a tenant with a CAB whose name needs Unicode, two locations, a calibration accreditation
with ``--lines`` lines (summaries of 60 to 230 characters, so some wrap onto two or three
lines), a 10-person team and an assessment that samples every line and has a two-paragraph
agenda. Then it runs ``printing.gather_plan`` and ``printing.plan_pdf`` ``--runs`` times and
prints the median and slowest time of each, the SQL statements per gather, the PDF's size and
its page count; and the same for the report (which has no sample). ``--out`` keeps one PDF.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import counting, rolled_back_app  # noqa: E402  (bench/ is on sys.path)

TEAM_SHAPE = ["lead"] + ["assessor"] * 6 + ["technical_expert"] * 2 + ["observer"]
QUANTITIES = ["Pressure gauges (hydraulic)", "Digital thermometers with probe",
              "Weights, class E2 to M1", "Torque wrenches and screwdrivers (type II, class A–E)",
              "Micrometers, external, 0 mm to 300 mm, including digital read-out types",
              "Humidity transmitters (capacitive)", "Oscilloscopes — time base and amplitude"]


def build(lines: int, seed: int = 6):
    """Create the data; returns the assessment."""
    from accreditor.assessments import services
    from accreditor.assessments.models import AssessorProfile, TeamAssignment
    from accreditor.auth.models import Membership, User
    from accreditor.cabs import services as cab_services
    from accreditor.core.permissions import Role
    from accreditor.core.tenancy import set_current_tenant
    from accreditor.extensions import db
    from accreditor.refdata import services as refdata
    from accreditor.scopes import services as scope_services
    from accreditor.scopes.models import ScopeItem
    from accreditor.tenants.services import create_tenant

    rnd = random.Random(seed)
    tenant = create_tenant(slug=f"bench-{rnd.randrange(10**6):06d}",
                           name="Bench Akkreditierungsstelle GmbH", country="DE")
    set_current_tenant(tenant)
    cab = cab_services.create_cab(legal_name="Ørsted Łódź Laboratoř s.r.o.", country="CZ")
    for code, name in (("A", "Hlavní laboratoř"), ("B", "Pobočka Brno")):
        cab_services.add_location(cab, code=code, name=name,
                                  address="Náměstí Svobody 1\n602 00 Brno", country="CZ")
    acc = scope_services.create_accreditation(cab, refdata.programme_by_code("17025-C"))
    acc.number = "D-K-12345-01-00"
    items = []
    for i in range(lines):
        q = QUANTITIES[i % len(QUANTITIES)]
        extra = " ; ".join(rnd.sample(QUANTITIES, rnd.randint(0, 2)))
        items.append(ScopeItem(
            cab_id=cab.id, accreditation_id=acc.id, position=i + 1, status="accredited",
            fields={}, summary=f"PRES · {q} · 0 to {rnd.randint(1, 999)} bar · CMC "
                               f"{rnd.randint(1, 99) / 1000} % · location A" +
                               (f" · {extra}" if extra else "")))
    db.session.add_all(items)
    db.session.flush()

    start = date.today() + timedelta(days=60)
    assessment = services.create_assessment(acc, "reassessment", "onsite", start,
                                            start + timedelta(days=3), ["A", "B"],
                                            internal_notes="bench internal notes")
    services.sample_all(assessment)
    assessment.agenda = ("Day 1: opening meeting; management system review; records.\n"
                         "Day 2–4: technical assessment per discipline, witnessing of "
                         "calibrations, closing meeting.")
    for n, role in enumerate(TEAM_SHAPE):
        user = User(email=f"bench{n}@{tenant.slug}.example.org",
                    name=f"Bench Persön {n} Łukasiewicz")
        db.session.add(user)
        db.session.flush()
        membership = Membership(user=user, tenant_id=tenant.id)
        membership.set_roles([Role.assessor])
        db.session.add(membership)
        db.session.add(AssessorProfile(user_id=user.id, organisation="Bench Assessors e.V."))
        db.session.add(TeamAssignment(cab_id=cab.id, assessment_id=assessment.id,
                                      user_id=user.id, role=role))
    db.session.flush()
    assert len(services.sample_ids(assessment)) == lines
    return assessment


def _time(fn, runs: int) -> tuple[list[float], object]:
    timings, result = [], None
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        result = fn()
        timings.append((time.perf_counter() - t0) * 1000)
    return timings[1:], result  # one warm-up run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", help="database URL (default: a throwaway SQLite file)")
    parser.add_argument("--out", help="write the plan PDF here")
    args = parser.parse_args()

    from flask import g

    from accreditor.assessments import printing
    from accreditor.extensions import db

    with rolled_back_app(args.database, "print-bench-", request=True) as (_app, uri):
        started = time.perf_counter()
        assessment_id = build(args.lines).id
        build_s = time.perf_counter() - started
        plan_statements = 0

        def gather_plan():
            nonlocal plan_statements
            db.session.expire_all()
            _ = g.tenant.name  # loaded once per request by tenant resolution
            with counting(db.engine) as counter:
                data = printing.gather_plan(printing.load_assessment(assessment_id))
            plan_statements = counter.count
            return data

        def gather_report():
            db.session.expire_all()
            return printing.gather_report(printing.load_assessment(assessment_id))

        gather_ms, plan = _time(gather_plan, args.runs)
        pdf_ms, pdf = _time(lambda: printing.plan_pdf(plan), args.runs)
        report_gather_ms, report = _time(gather_report, args.runs)
        report_ms, report_pdf = _time(lambda: printing.report_pdf(report), args.runs)

    def pages(data: bytes) -> int:
        return len(re.findall(rb"/Type /Page\b(?!s)", data))

    if args.out:
        Path(args.out).write_bytes(pdf)
    total = [g + p for g, p in zip(gather_ms, pdf_ms, strict=True)]
    print(f"print_pdf: {args.lines} sampled lines, {len(plan.team)}-person team, {args.runs} "
          f"runs ({uri.split(':')[0]}; data built in {build_s:.1f} s)")
    print(f"  plan: gather median {statistics.median(gather_ms):.0f} ms "
          f"({plan_statements} SQL statements), PDF median {statistics.median(pdf_ms):.0f} ms, "
          f"slowest {max(pdf_ms):.0f} ms; {len(pdf) / 1024:.0f} KiB, {pages(pdf)} pages")
    print(f"  plan total (gather + PDF) median {statistics.median(total):.0f} ms")
    print(f"  report: gather median {statistics.median(report_gather_ms):.0f} ms, "
          f"PDF median {statistics.median(report_ms):.0f} ms; {len(report_pdf) / 1024:.0f} KiB, "
          f"{pages(report_pdf)} page(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
