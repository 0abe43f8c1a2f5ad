"""Time of the schedule of accreditation and the certificate as PDF (issue 6 point 4): a
calibration schedule of 2,000 lines, snapshotted, laid out and drawn with fpdf2 and segno.
Target: under 10 s for the schedule.

Usage: ``.venv/bin/python bench/schedule_pdf.py [--lines 2000] [--runs 3] [--database URL]
[--out schedule.pdf]``

Builds, inside one transaction that is rolled back at the end (by default in a throwaway SQLite
file), a tenant with its address, a CAB with a Unicode name and three locations, a calibration
accreditation with ``--lines`` accredited lines over four disciplines (remarks of 20 to 180
characters, every 50th line suspended), then issues schedule issue 1 through
``decisions.services.issue_schedule`` (the snapshot). It then times ``services.draw`` of the
schedule and of the certificate ``--runs`` times, and prints the median and slowest time, the
size and the page count. ``--out`` keeps the schedule PDF.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import rolled_back_app  # noqa: E402  (bench/ is on sys.path)

DISCIPLINES = [("PRES", "bar", "%"), ("TEMP", "°C", "°C"), ("MASS", "g", "mg"),
               ("DIM", "mm", "µm")]
QUANTITIES = ["Pressure gauges (hydraulic)", "Digital thermometers with probe",
              "Weights, class E2 to M1", "Torque wrenches and screwdrivers (type II, class A–E)",
              "Micrometers, external, 0 mm to 300 mm, including digital read-out types",
              "Gauge blocks, steel and ceramic, grade K, 0.5 mm to 100 mm"]
REMARKS = ["By comparison", "By comparison with a dead-weight tester in accordance with "
           "procedure CP-12", "Using reference standards traceable to national standards; "
           "in accordance with in-house procedure TP-07 issue 4 and EURAMET cg-11; "
           "customer items only"]


def build(lines: int, seed: int = 6) -> int:
    """Create the data and issue the schedule; returns the version id."""
    from accreditor.cabs import services as cab_services
    from accreditor.core.tenancy import set_current_tenant
    from accreditor.decisions.services import issue_schedule
    from accreditor.extensions import db
    from accreditor.refdata import services as refdata
    from accreditor.scopes import services as scope_services
    from accreditor.scopes.models import ScopeItem
    from accreditor.tenants.services import create_tenant

    rnd = random.Random(seed)
    tenant = create_tenant(slug=f"bench-{rnd.randrange(10**6):06d}",
                           name="Bench Accreditation Service", country="GB")
    tenant.public_address = "2 Pine Trees\nChertsey Lane\nStaines-upon-Thames TW18 3HR"
    set_current_tenant(tenant)
    cab = cab_services.create_cab(legal_name="Ørsted Łódź Metrology Ltd", country="GB")
    for code, name in (("A", "Head office"), ("B", "Annex"), ("C", "Mobile laboratory")):
        cab_services.add_location(cab, code=code, name=name,
                                  address="Unit 4, Riverside Park\nOxford OX1 2AB",
                                  country="GB")
    acc = scope_services.create_accreditation(cab, refdata.programme_by_code("17025-C"))
    acc.number = "0331"
    acc.status = "partially_suspended"
    items = []
    for i in range(lines):
        disc, unit, cmc_unit = DISCIPLINES[i * len(DISCIPLINES) // lines]
        items.append(ScopeItem(
            cab_id=cab.id, accreditation_id=acc.id, position=i + 1,
            status="suspended" if i % 50 == 7 else "accredited",
            fields={"discipline": disc, "quantity": QUANTITIES[i % len(QUANTITIES)],
                    "range_min": "0", "range_max": str(rnd.randint(1, 999)), "range_unit": unit,
                    "cmc": str(rnd.randint(1, 99) / 1000), "cmc_unit": cmc_unit,
                    "cmc_term": "+ 0.25L" if i % 9 == 0 else "",
                    "remarks": REMARKS[i % len(REMARKS)], "location": "ABC"[i % 3]},
            summary=""))
    db.session.add_all(items)
    db.session.flush()
    return issue_schedule(acc, None).id


def _time(fn, runs: int):
    timings, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - t0)
    return timings, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", help="database URL (default: a throwaway SQLite file)")
    parser.add_argument("--out", help="write the schedule PDF here")
    args = parser.parse_args()

    from sqlalchemy import select

    from accreditor.certificates import services
    from accreditor.decisions.models import ScheduleVersion
    from accreditor.extensions import db

    with rolled_back_app(args.database, "schedule-bench-", request=True) as (_app, uri):
        t0 = time.perf_counter()
        version_id = build(args.lines)
        build_s = time.perf_counter() - t0
        v = db.session.execute(select(ScheduleVersion).where(
            ScheduleVersion.id == version_id)).scalar_one()
        details, lines = v.details, v.lines
        sched_s, (sched, sched_pages, _p) = _time(
            lambda: services.draw("schedule", details, lines), args.runs)
        cert_s, (cert, cert_pages, _p) = _time(
            lambda: services.draw("certificate", details, lines), args.runs)
    if args.out:
        Path(args.out).write_bytes(sched)
    print(f"schedule_pdf: {args.lines} calibration lines, {args.runs} runs "
          f"({uri.split(':')[0]}; data built and issued in {build_s:.1f} s)")
    print(f"  schedule: median {statistics.median(sched_s):.2f} s, slowest {max(sched_s):.2f} s "
          f"(target < 10 s); {len(sched) / 1024:.0f} KiB, {sched_pages} pages")
    print(f"  certificate: median {statistics.median(cert_s) * 1000:.0f} ms; "
          f"{len(cert) / 1024:.0f} KiB, {cert_pages} page(s)")
    return 0 if max(sched_s) < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
