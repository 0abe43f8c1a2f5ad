"""The public directory under load: latency, throughput and SQL statements per request, each
page compared with a trivial endpoint of the same app measured in the same run (issue 7 point 7).

Usage (the server must be running on the seeded database, rate limits off:
``ACCREDITOR_RATELIMIT_ENABLED=false``; docs/performance.md, "Public directory at scale", has
the exact commands)::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/h5bench \\
      .venv/bin/python bench/directory.py http://127.0.0.1:8000 [--requests 200] \\
      [--seconds 10] [--concurrency 4] [--in-process] [--sql] [--sql-only] [--only search,verify]

Give ``-`` as the server to skip the HTTP tables (``--in-process`` and ``--sql`` need none).

It reads the seeded directory (``flask bench seed``) from ``DATABASE_URL`` to choose its inputs:
the entry with the most lines (the 2,000-line one: its first and its last page of lines), a
sample of visible entries of active ABs to verify on a date inside their accreditation, numbers
two ABs share, countries and programmes for the filters. Then, per case:

* **HTTP latency**: every URL of the case requested once to warm up, then ``--requests``
  requests (at least one per URL, round-robin over them) from one client, one at a time:
  p50 / p95 in ms by nearest rank over the successful (2xx/3xx) answers;
* **HTTP throughput**: ``--concurrency`` client processes (keep-alive HTTP/1.1, stdlib only)
  for ``--seconds`` seconds: successful requests per second. Client and server share the
  machine: the clients' CPU is in every HTTP figure, the trivial endpoint's most, so the
  throughput ratio is a lower bound on the server's;
* **in-process** (``--in-process``): the same requests, warm-up and percentiles through the
  Flask test client in this process (no HTTP, no client, no worker processes): the app's own
  time per request, p50 / p95 and the ratio to ``/livez`` measured the same way;
* **SQL** (``--sql``): statements per request through the test client (transaction control not
  counted).

The server caches anonymous search pages and the API list until the directory changes
(``accreditor.directory.cache``, ``DIRECTORY_CACHE_SECONDS``): after the warm-up, the HTTP
figures of those cases are cache hits — the repeated, popular searches. ``--cold`` adds a
unique ``bench=<n>`` argument to every search and API-list request (the app ignores it; the
cache key holds it), so every HTTP request is computed: the cost of a search nobody asked
before. The in-process figures are always computed (the cache is off there).

Only 2xx/3xx answers are timed; the status counts of every case are printed. A case with any
5xx, or more than 1 % other failures (4xx, 429, connection errors), is marked FAILED and the
bench exits non-zero. The tables printed at the end are markdown, ready for
docs/performance.md.
"""

from __future__ import annotations

import argparse
import http.client
import math
import multiprocessing
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEARCH_TERMS = ["ISO 9001", "IAF 28", "pressure gauges", "asbestos surveys", "NDT level 2",
                "calibration", "legionella", "torque wrenches", "pressure equipment",
                "tensile strength", "thermocouples", "drinking water", "lifting equipment",
                "ISO 14001", "welding inspector", "metrology", "gauge blocks", "soils"]


# -- inputs from the seeded database ----------------------------------------------------------


def database_url() -> str:
    from accreditor.config import from_environment

    url = from_environment(object).get("SQLALCHEMY_DATABASE_URI")
    if not url:
        sys.exit("Set DATABASE_URL to the seeded database (the one the server runs on).")
    return url


def _day(value):
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def pick_inputs(url: str, seed: int = 7) -> dict:
    """What the cases request, read from the directory tables (no app needed)."""
    from sqlalchemy import create_engine, text

    rnd = random.Random(seed)
    today = date.today()
    engine = create_engine(url)
    with engine.connect() as conn:
        big = conn.execute(text(
            "SELECT t.slug, e.number, e.lines_total FROM directory_entries e "
            "JOIN tenants t ON t.id = e.tenant_id WHERE e.visible_until IS NULL "
            "AND t.is_active ORDER BY e.lines_total DESC, e.id LIMIT 1")).first()
        if big is None:
            sys.exit("No directory entries: run `flask bench seed` on this database first.")
        total = conn.execute(text("SELECT count(*) FROM directory_entries")).scalar_one()
        step = max(1, total // 400)
        sample = conn.execute(text(
            "SELECT t.slug, e.number, e.initial_grant_on, e.ended_on, e.country, e.scope_type "
            "FROM directory_entries e JOIN tenants t ON t.id = e.tenant_id "
            "WHERE e.id % :step = 0 AND t.is_active "
            "AND (e.visible_until IS NULL OR e.visible_until >= :today) "
            "ORDER BY e.id LIMIT 400"), {"step": step, "today": today}).all()
        shared = conn.execute(text(
            "SELECT number FROM directory_entries GROUP BY number HAVING count(*) > 1 "
            "ORDER BY number LIMIT 5")).scalars().all()
        countries = conn.execute(text(
            "SELECT country FROM directory_entries GROUP BY country "
            "ORDER BY count(*) DESC LIMIT 6")).scalars().all()
        words = conn.execute(text(
            "SELECT legal_name FROM directory_entries WHERE id % :step = 1 ORDER BY id LIMIT 40"),
            {"step": step}).scalars().all()
    engine.dispose()
    verify = []
    for slug, number, granted, ended, _country, _type in sample:
        granted, ended = _day(granted), _day(ended)  # SQLite returns text
        last = min(ended or today, today)
        span = max(0, (last - granted).days)
        on = granted + timedelta(days=rnd.randint(0, span))
        verify.append((slug, number, on.isoformat()))
    terms = SEARCH_TERMS + [w.split()[0] for w in words[:10]] + [n for _s, n, *_r in sample[:8]]
    programmes = ["testing", "calibration", "inspection", "ms_certification",
                  "person_certification"]
    return {"big": (big.slug, big.number, big.lines_total), "verify": verify, "shared": shared,
            "countries": countries, "terms": terms, "programmes": programmes,
            "entries": total}


def cases(inputs: dict) -> list[tuple[str, list[str]]]:
    """(case name, the URLs it rotates through)."""
    rnd = random.Random(3)
    terms, countries = inputs["terms"], inputs["countries"]
    from accreditor.directory.services import LINES_PAGE_SIZE

    slug, number, _lines = inputs["big"]
    last_page = max(1, math.ceil(_lines / LINES_PAGE_SIZE))

    def q(path, **args):
        return f"{path}?{urlencode(args)}"

    filtered = []
    for i in range(40):
        args = {"q": rnd.choice(SEARCH_TERMS), "programme": rnd.choice(inputs["programmes"])}
        if i % 2:
            args["country"] = rnd.choice(countries)
        else:
            args["status"] = "accredited"
        filtered.append(q("/directory/", **args))
    # the directory's front pages and one or two facets clicked on them (counts summed from
    # directory_search_counts, the page off the name index)
    browse = ["/directory/", f"/{slug}/directory/"]
    for i in range(18):
        args = {"programme": inputs["programmes"][i % 5]}
        if i % 3 == 1:
            args["country"] = countries[i % len(countries)]
        elif i % 3 == 2:
            args = {"country": countries[i % len(countries)]} if i % 2 else {"status": "suspended"}
        browse.append(q("/directory/", **args))
    return [
        ("trivial `/livez`", ["/livez"]),
        ("text search `/directory/?q=`", [q("/directory/", q=t) for t in terms]),
        ("filtered search (q + programme + country/status)", filtered),
        ("browse without words (front page, a facet clicked, an AB's page)",
         browse),
        (f"CAB page, {_lines:,} lines `/{slug}/directory/{number}`",
         [f"/{slug}/directory/{quote(number, safe='')}"]),
        (f"CAB page, last page of lines ({LINES_PAGE_SIZE} a page) "
         f"`/{slug}/directory/{number}?page={last_page}`",
         [f"/{slug}/directory/{quote(number, safe='')}?page={last_page}"]),
        ("verify page `/verify/?number=&ab=&on=`",
         [q("/verify/", number=n, ab=s, on=on) for s, n, on in inputs["verify"]]),
        ("verify API `/api/v1/<ab>/verify/<number>?on=`",
         [f"/api/v1/{s}/verify/{quote(n, safe='')}?on={on}" for s, n, on in inputs["verify"]]),
        ("API list `/api/v1/accreditations?q=`",
         [q("/api/v1/accreditations", q=t) for t in terms]),
    ]


# -- load ---------------------------------------------------------------------------------------


def nearest_rank(values: list[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of sorted ``values`` by nearest rank (p95 of 200 samples:
    the 190th)."""
    if not values:
        return None
    return values[max(0, math.ceil(fraction * len(values)) - 1)]


def is_ok(status: int) -> bool:
    return 200 <= status < 400


def failed(statuses: dict[int, int]) -> bool:
    """Any 5xx, or more than 1 % of answers neither 2xx nor 3xx (0: no answer)."""
    n = sum(statuses.values())
    bad = sum(v for k, v in statuses.items() if not is_ok(k))
    return any(k >= 500 for k in statuses) or n == 0 or bad * 100 > n


def summarise(times: list[float], statuses: dict[int, int],
              by_url: dict[str, list[float]]) -> dict:
    times = sorted(times)
    return {"p50": nearest_rank(times, 0.5), "p95": nearest_rank(times, 0.95),
            "timed": len(times), "n": sum(statuses.values()), "statuses": statuses,
            "failed": failed(statuses),
            "slowest": sorted(((statistics.median(v), u) for u, v in by_url.items()),
                              reverse=True)[:3]}


class _Client:
    """One keep-alive HTTP/1.1 connection (stdlib), reopened after an error."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self._cls = (http.client.HTTPSConnection if parts.scheme == "https"
                     else http.client.HTTPConnection)
        self._host, self._port = parts.hostname, parts.port
        self.conn = self._cls(self._host, self._port, timeout=30)

    def get(self, url: str) -> tuple[int, float]:
        t0 = time.perf_counter()
        try:
            self.conn.request("GET", url, headers={"Accept-Encoding": "identity"})
            resp = self.conn.getresponse()
            resp.read()
            status = resp.status
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = self._cls(self._host, self._port, timeout=30)
            status = 0
        return status, (time.perf_counter() - t0) * 1000

    def close(self) -> None:
        self.conn.close()


_counter = iter(range(1, 1 << 62))


def cold(url: str) -> str:
    """``url`` made unique when the server would cache it (``--cold``)."""
    path = urlsplit(url).path
    if not (path.endswith("/directory/") or path == "/api/v1/accreditations"):
        return url
    return f"{url}{'&' if '?' in url else '?'}bench={os.getpid()}-{next(_counter)}"


def timed_requests(get, urls: list[str], requests: int) -> dict:
    """Warm every URL once, then ``max(requests, len(urls))`` requests round-robin over them;
    ``get(url) -> (status, ms)``. Only 2xx/3xx answers are timed."""
    for url in urls:
        get(url)
    times: list[float] = []
    statuses: dict[int, int] = {}
    by_url: dict[str, list[float]] = {}
    for i in range(max(requests, len(urls))):
        url = urls[i % len(urls)]
        status, ms = get(url)
        statuses[status] = statuses.get(status, 0) + 1
        if is_ok(status):
            times.append(ms)
            by_url.setdefault(url, []).append(ms)
    return summarise(times, statuses, by_url)


def _worker(args) -> tuple[int, dict[int, int]]:
    base, urls, seconds, offset, make_cold = args
    client = _Client(base)
    statuses: dict[int, int] = {}
    ok = 0
    i = offset
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        url = urls[i % len(urls)]
        status, _ms = client.get(cold(url) if make_cold else url)
        i += 1
        statuses[status] = statuses.get(status, 0) + 1
        ok += is_ok(status)
    client.close()
    return ok, statuses


def run_case(base: str, urls: list[str], requests: int, seconds: float,
             concurrency: int, make_cold: bool = False) -> dict:
    client = _Client(base)
    get = (lambda url: client.get(cold(url))) if make_cold else client.get
    r = timed_requests(get, urls, requests)
    client.close()
    with multiprocessing.Pool(concurrency) as pool:
        t0 = time.perf_counter()
        results = pool.map(_worker, [(base, urls, seconds, k * 7, make_cold)
                                     for k in range(concurrency)])
        elapsed = time.perf_counter() - t0
    statuses = dict(r["statuses"])
    for _ok, st in results:
        for k, v in st.items():
            statuses[k] = statuses.get(k, 0) + v
    r["rps"] = sum(ok for ok, _st in results) / elapsed
    r["statuses"], r["n"], r["failed"] = statuses, sum(statuses.values()), failed(statuses)
    return r


def build_app(url: str):
    from accreditor import create_app

    return create_app({"ENV": "testing", "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
                       "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING",
                       "DIRECTORY_EXPORTS": False,
                       # the app's own work per request: every search computed, never cached
                       "DIRECTORY_CACHE_SECONDS": 0})


def in_process(url: str, case_list: list[tuple[str, list[str]]], requests: int) -> dict:
    """Each case through the Flask test client: the app's own time per request."""
    app = build_app(url)
    client = app.test_client()

    def get(path: str) -> tuple[int, float]:
        t0 = time.perf_counter()
        resp = client.get(path)
        resp.get_data()
        return resp.status_code, (time.perf_counter() - t0) * 1000

    out = {}
    for name, urls in case_list:
        out[name] = timed_requests(get, urls, requests)
        print(f"  in-process {name}: {_statuses(out[name])}", flush=True)
    from accreditor.extensions import db

    with app.app_context():
        db.engine.dispose()
    return out


def _statuses(r: dict) -> str:
    st = ", ".join(f"{k or 'no answer'}×{v}" for k, v in sorted(r["statuses"].items()))
    return ("FAILED: " if r["failed"] else "") + st


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "–" if not a or not b else f"{a / b:.1f}×"


# -- SQL statements per request -----------------------------------------------------------------


def sql_counts(url: str, case_list: list[tuple[str, list[str]]]) -> dict[str, str]:
    from _harness import counting

    from accreditor.extensions import db

    app = build_app(url)
    with app.app_context():
        engine = db.engine
    client = app.test_client()
    out = {}
    for name, urls in case_list:
        counts = []
        try:
            for path in urls[:5]:
                client.get(path)  # warm-up: caches of the app, not of the database
                with counting(engine) as counter:
                    client.get(path)
                counts.append(counter.count)
        except Exception as exc:  # one page's bug must not hide the others' numbers
            out[name] = f"error: {type(exc).__name__}"
            continue
        out[name] = str(min(counts)) if min(counts) == max(counts) else \
            f"{min(counts)}–{max(counts)}"
    with app.app_context():
        db.engine.dispose()
    return out


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the running server, e.g. http://127.0.0.1:8000; - for "
                        "none (in-process and SQL tables only)")
    parser.add_argument("--requests", type=int, default=200,
                        help="timed requests per case for p50/p95 (at least one per URL)")
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput seconds per case")
    parser.add_argument("--concurrency", type=int, default=4, help="client processes")
    parser.add_argument("--in-process", action="store_true",
                        help="also time each case through the Flask test client (no HTTP)")
    parser.add_argument("--sql", action="store_true",
                        help="also count SQL statements per request (in-process, test client)")
    parser.add_argument("--sql-only", action="store_true",
                        help="only count SQL statements per request (no server needed)")
    parser.add_argument("--cold", action="store_true",
                        help="make every search and API-list request unique (never a cache "
                             "hit on the server)")
    parser.add_argument("--only", default="", help="comma-separated words: run the cases "
                        "whose name has one of them (the trivial endpoint always runs)")
    args = parser.parse_args()
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    url = database_url()
    inputs = pick_inputs(url)
    case_list = cases(inputs)
    if args.only:
        words = [w.strip().lower() for w in args.only.split(",") if w.strip()]
        case_list = [c for i, c in enumerate(case_list)
                     if i == 0 or any(w in c[0].lower() for w in words)]
    backend = urlsplit(url).scheme.split("+")[0]
    print(f"{inputs['entries']:,} directory entries ({backend}); largest: "
          f"/{inputs['big'][0]}/directory/{inputs['big'][1]} ({inputs['big'][2]:,} lines); "
          f"{args.requests} timed requests per case; HTTP throughput: {args.concurrency} "
          f"client processes, {args.seconds:g} s per case", flush=True)
    sql = sql_counts(url, case_list) if args.sql or args.sql_only else {}
    if args.sql_only:
        print("\n| case | SQL/request |\n|---|---|")
        for name, _urls in case_list:
            print(f"| {name} | {sql[name]} |")
        return 0
    any_failed = False
    if args.base != "-":
        rows, trivial = [], None
        for name, urls in case_list:
            r = run_case(args.base, urls, args.requests, args.seconds, args.concurrency,
                         args.cold)
            any_failed |= r["failed"]
            print(f"  HTTP {name}: {r['n']} requests, {_statuses(r)}; slowest: "
                  + ", ".join(f"{u} {ms:.0f} ms" for ms, u in r["slowest"]), flush=True)
            if 429 in r["statuses"]:
                print("  429: run the server with ACCREDITOR_RATELIMIT_ENABLED=false", flush=True)
            trivial = trivial or r
            rows.append(
                f"| {name} | {_statuses(r)} | {r['timed']} | {_ms(r['p50'])} | "
                f"{_ms(r['p95'])} | {_ratio(r['p95'], trivial['p95'])} | {r['rps']:.0f} | "
                f"{r['rps'] / trivial['rps'] * 100 if trivial['rps'] else 0:.0f} % | "
                f"{sql.get(name, '')} |")
        print("\nHTTP (client and server on the same machine: client CPU included; "
              + ("every search computed: --cold" if args.cold else
                 "searches repeated: cache hits after the warm-up") + ")\n")
        print("| case | HTTP status × count | timed | p50 ms | p95 ms | p95 vs trivial | "
              "req/s | req/s vs trivial | SQL/request |")
        print("|---|---|---|---|---|---|---|---|---|")
        for row in rows:
            print(row)
    if args.in_process:
        results = in_process(url, case_list, args.requests)
        trivial = results[case_list[0][0]]
        print("\nIn-process (Flask test client: the app's own time, no HTTP, no client)\n")
        print("| case | status × count | timed | p50 ms | p95 ms | p50 vs trivial | "
              "p95 vs trivial | SQL/request |")
        print("|---|---|---|---|---|---|---|---|")
        for name, _urls in case_list:
            r = results[name]
            any_failed |= r["failed"]
            print(f"| {name} | {_statuses(r)} | {r['timed']} | {_ms(r['p50'])} | "
                  f"{_ms(r['p95'])} | {_ratio(r['p50'], trivial['p50'])} | "
                  f"{_ratio(r['p95'], trivial['p95'])} | {sql.get(name, '')} |")
    if any_failed:
        print("\nFAILED: a case had a 5xx or more than 1 % failed requests (see above).",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("ACCREDITOR_ENV", "testing")
    sys.exit(main())
