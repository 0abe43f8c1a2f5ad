"""Time of the team-appointment checks (issue 4: a 10-person team on a 2,000-line scope in
under 200 ms).

Usage: ``.venv/bin/python bench/team_checks.py [--lines 2000] [--runs 30]
[--programme 17025-C|17021-1] [--database URL]``

Builds, inside one transaction that is rolled back at the end (so a configured database — migrated,
with reference data loaded — is left as it was; by default a throwaway SQLite file), a tenant with a CAB whose accreditation has
``--lines`` scope lines, a 10-person team (a lead, six assessors, two technical experts and an
observer) whose authorisations by technical area together cover every line, interest
declarations (none conflicting), 300 other assessments the same people are booked on (so the
double-booking query has rows to look through), and an assessment that samples every line.
Then it runs ``team.check_team`` ``--runs`` times and prints the median, the 90th percentile,
the slowest run and the number of SQL statements per run.

For 17025-C the lines spread over the 12 calibration disciplines; for 17021-1 each line carries
one to three IAF codes and the authorisations are by IAF cluster (``cluster:<name>``), which
adds the cluster lookup.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import counting, rolled_back_app  # noqa: E402  (bench/ is on sys.path)

TEAM_SHAPE = ["lead"] + ["assessor"] * 6 + ["technical_expert"] * 2 + ["observer"]


def build(lines: int, programme_code: str, seed: int = 4):
    """Create the data; returns (assessment, members)."""
    from sqlalchemy import select

    from accreditor.assessments import services
    from accreditor.assessments.models import (
        Assessment,
        AssessorAuthorisation,
        AssessorProfile,
        InterestDeclaration,
        TeamAssignment,
    )
    from accreditor.auth.models import Membership, User
    from accreditor.cabs import services as cab_services
    from accreditor.core.db import utcnow
    from accreditor.core.permissions import Role
    from accreditor.extensions import db
    from accreditor.refdata import services as refdata
    from accreditor.refdata.models import TermKind
    from accreditor.scopes import services as scope_services
    from accreditor.scopes.models import ScopeItem
    from accreditor.tenants.services import create_tenant

    rnd = random.Random(seed)
    tenant = create_tenant(slug=f"bench-{rnd.randrange(10**6):06d}", name="Bench AB",
                           country="GB")
    from accreditor.core.tenancy import set_current_tenant

    set_current_tenant(tenant)
    cab = cab_services.create_cab(legal_name="Bench Calibration Ltd", country="GB",
                                  related_bodies="Bench Holdings plc")
    for code in ("A", "B"):
        cab_services.add_location(cab, code=code, name=f"Site {code}", address="1 Bench Road",
                                  country="GB")
    other_cab = cab_services.create_cab(legal_name="Unrelated Testing Ltd", country="GB")
    programme = refdata.programme_by_code(programme_code)
    if programme is None:
        sys.exit(f"programme {programme_code} not found: run `flask refdata load` on the "
                 "configured database first")
    acc = scope_services.create_accreditation(cab, programme)

    # Scope lines and the technical areas the team must cover.
    if programme.scope_type == "ms_certification":
        clusters: dict[str, list[str]] = {}
        for code, term in refdata.terms(TermKind.iaf_code).items():
            clusters.setdefault(term.group or "-", []).append(code)
        codes = [c for group in clusters.values() for c in group]
        fields = [{"standard": "ISO 9001:2015",
                   "iaf_codes": sorted(rnd.sample(codes, rnd.randint(1, 3)))}
                  for _ in range(lines)]
        areas = [f"cluster:{name}" for name in clusters if name != "-"]
        area_kind = "iaf_code"
        # Codes without a cluster need a code authorisation.
        areas += clusters.get("-", [])
    else:
        disciplines = list(refdata.terms(TermKind.calibration_discipline))
        fields = [{"discipline": disciplines[i % len(disciplines)], "quantity": f"Item {i}",
                   "range_min": "0", "range_max": "100", "range_unit": "bar", "cmc": "0.1",
                   "cmc_unit": "%", "location": "A"} for i in range(lines)]
        areas = disciplines
        area_kind = "calibration_discipline"
    db.session.add_all([ScopeItem(cab_id=cab.id, accreditation_id=acc.id, position=i + 1,
                                  status="accredited", fields=f, summary=f"line {i + 1}")
                        for i, f in enumerate(fields)])
    db.session.flush()

    # Ten people; the lead and the assessors share the areas round robin, so only the team as a
    # whole covers the scope (rule 5); experts and the observer hold their own.
    today = date.today()
    people = []
    for n, role in enumerate(TEAM_SHAPE):
        user = User(email=f"bench{n}@{tenant.slug}.example.org", name=f"Bench Person {n}")
        db.session.add(user)
        db.session.flush()
        membership = Membership(user=user, tenant_id=tenant.id)
        membership.set_roles([Role.assessor])
        db.session.add(membership)
        db.session.add(AssessorProfile(user_id=user.id, organisation="Bench AB",
                                       last_onsite_monitoring_on=today - timedelta(days=200)))
        people.append((user, role))
    competent = [u for u, r in people if r in ("lead", "assessor")]
    auth_role = {"lead": "lead_assessor", "assessor": "assessor",
                 "technical_expert": "technical_expert", "observer": "observer"}
    share: dict[int, list[str]] = {u.id: [] for u, _r in people}
    for i, area in enumerate(areas):
        share[competent[i % len(competent)].id].append(area)
    for user, role in people:
        mine = share[user.id] or rnd.sample(areas, min(3, len(areas)))
        db.session.add(AssessorAuthorisation(
            user_id=user.id, role=auth_role[role], programme_id=programme.id,
            area_kind=area_kind, areas=mine, valid_from=today - timedelta(days=1000),
            valid_to=today + timedelta(days=1000), status="approved", approved_at=utcnow()))
        # Declarations: old ones with this CAB, current ones with an unrelated CAB.
        db.session.add(InterestDeclaration(user_id=user.id, kind="consultancy", cab_id=cab.id,
                                           started_on=today - timedelta(days=3000),
                                           ended_on=today - timedelta(days=2000)))
        db.session.add(InterestDeclaration(user_id=user.id, kind="employment",
                                           cab_id=other_cab.id,
                                           started_on=today - timedelta(days=900),
                                           ended_on=None))
    db.session.flush()

    # 300 other assessments the team is booked on, none overlapping the benchmarked one.
    start = today + timedelta(days=400)
    others = [Assessment(cab_id=cab.id, accreditation_id=acc.id, type="surveillance",
                         mode="onsite", status="draft", location_codes=["A"],
                         planned_start_on=today + timedelta(days=3 * i - 500),
                         planned_end_on=today + timedelta(days=3 * i - 499))
              for i in range(300)]
    db.session.add_all(others)
    db.session.flush()
    db.session.add_all([TeamAssignment(cab_id=cab.id, assessment_id=o.id,
                                       user_id=people[i % len(people)][0].id,
                                       role="assessor") for i, o in enumerate(others)])
    assessment = services.create_assessment(acc, "reassessment", "onsite", start,
                                            start + timedelta(days=3), ["A", "B"])
    services.sample_all(assessment)
    db.session.flush()
    sampled = len(services.sample_ids(assessment))
    assert sampled == lines, sampled
    members = [(u.id, r) for u, r in people]
    assert db.session.execute(select(Assessment.id).where(Assessment.id == assessment.id)
                              ).scalar_one()
    return assessment, members


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--programme", default="17025-C", choices=["17025-C", "17021-1"])
    parser.add_argument("--database", help="database URL (default: a throwaway SQLite file)")
    args = parser.parse_args()

    from accreditor.assessments import team
    from accreditor.extensions import db

    with rolled_back_app(args.database, "team-bench-") as (_app, uri):
        started = time.perf_counter()
        assessment, members = build(args.lines, args.programme)
        build_s = time.perf_counter() - started
        timings, per_run = [], []
        result = None
        for _ in range(args.runs + 2):
            db.session.expire_all()
            with counting(db.engine) as counter:
                t0 = time.perf_counter()
                result = team.check_team(assessment, members)
                timings.append((time.perf_counter() - t0) * 1000)
            per_run.append(counter.count)
        timings, per_run = timings[2:], per_run[2:]  # two warm-up runs

    median = statistics.median(timings)
    p90 = sorted(timings)[max(0, int(len(timings) * 0.9) - 1)]
    print(f"team_checks: programme {args.programme}, {args.lines} sampled lines, "
          f"{len(members)}-person team, {args.runs} runs ({uri.split(':')[0]}; data built in "
          f"{build_s:.1f} s)")
    print(f"  check_team median {median:.1f} ms, p90 {p90:.1f} ms, slowest {max(timings):.1f} ms")
    print(f"  SQL statements per run: {min(per_run)}–{max(per_run)}")
    print(f"  result: {len(result.problems)} problem(s), "
          f"{sum(1 for c in result.coverage.values() if c.covered)} of {len(result.coverage)} "
          "lines covered")
    for p in result.problems:
        print(f"    - rule {p.rule}: {p.message}")
    ok = median < 200
    print(f"  target median < 200 ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
