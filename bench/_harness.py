"""What the benches share: an app on a throwaway SQLite file (or a given database) whose work is
rolled back at the end, a counter of the SQL statements a block sends, and for the page benches
an app built on its own SQLite or PostgreSQL database with its pages timed per user."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import event

CONTROL = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "ROLLBACK")


@contextlib.contextmanager
def rolled_back_app(database: str | None, prefix: str, *, request: bool = False) -> Iterator:
    """An app context (and a request context with ``request``) on ``database`` or a throwaway
    SQLite file with the platform reference data; everything written inside is rolled back."""
    from accreditor import create_app
    from accreditor.extensions import db
    from accreditor.refdata.services import load_platform_refdata

    work = None if database else Path(tempfile.mkdtemp(prefix=prefix))
    uri = database or f"sqlite:///{work / 'bench.db'}"
    app = create_app({"ENV": "testing", "SQLALCHEMY_DATABASE_URI": uri, "REDIS_URL": None,
                      "SERVER_NAME": "localhost"})
    try:
        with app.app_context(), (app.test_request_context() if request
                                 else contextlib.nullcontext()):
            if work is not None:
                db.create_all()
            connection = db.engine.connect()
            outer = connection.begin()
            db.session.remove()
            original = db.session
            db.session = db._make_scoped_session({"bind": connection,
                                                  "join_transaction_mode": "create_savepoint"})
            try:
                if work is not None:
                    load_platform_refdata()
                    db.session.flush()
                yield app, uri
            finally:
                db.session.remove()
                db.session = original
                outer.rollback()
                connection.close()
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


class StatementCounter:
    """``with counting(engine) as c: …`` then ``c.count``; transaction control not counted."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, conn, cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(CONTROL):
            self.count += 1


@contextlib.contextmanager
def counting(engine) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


# -- page benches: an app on its own database, pages timed per user ----------------------------


def built_app(uri: str, build: Callable[[], dict]):
    """An app on ``uri`` with the schema, the platform reference data and what ``build()``
    adds (committed); on PostgreSQL the planner statistics are gathered, as autovacuum would.
    Returns (app, the build's data, seconds the build took)."""
    from sqlalchemy import text

    from accreditor import create_app
    from accreditor.core.db import commit
    from accreditor.extensions import db
    from accreditor.refdata.services import load_platform_refdata

    app = create_app({"ENV": "testing", "SQLALCHEMY_DATABASE_URI": uri, "REDIS_URL": None,
                      "SERVER_NAME": "localhost", "LOG_LEVEL": "WARNING"})
    with app.app_context():
        db.create_all()
        load_platform_refdata()
        commit()
        t0 = time.perf_counter()
        data = build()
        seconds = time.perf_counter() - t0
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    return app, data, seconds


def signed_in(app, emails: dict, password: str) -> dict:
    """A test client per role, signed in through the login form (``None``: anonymous)."""
    clients = {None: app.test_client()}
    for who, email in emails.items():
        c = app.test_client()
        resp = c.post("/login", data={"email": email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        clients[who] = c
    return clients


def time_pages(app, clients: dict, pages: list[tuple], runs: int, warmups: int = 1
               ) -> list[str]:
    """One line per (who, name, url): status, statements per request, median and max ms, size.
    Requests run outside any app context, so each gets a fresh ``g`` and session; a streamed
    body is produced (and queried) inside the timing."""
    from accreditor.extensions import db

    with app.app_context():
        engine = db.engine
    lines, width = [], max(len(p[1]) for p in pages)
    for who, name, url in pages:
        timings, per_run, status, size = [], [], 0, 0
        try:
            for i in range(runs + warmups):
                with counting(engine) as counter:
                    t0 = time.perf_counter()
                    resp = clients[who].get(url)
                    body = resp.get_data()
                    elapsed = (time.perf_counter() - t0) * 1000
                status, size = resp.status_code, len(body)
                if i >= warmups:
                    timings.append(elapsed)
                    per_run.append(counter.count)
        except Exception as exc:  # one page's bug must not hide the others' numbers
            lines.append(f"  {name:<{width}}  FAILED: {type(exc).__name__}: {exc}")
            continue
        q = f"{min(per_run)}" if min(per_run) == max(per_run) else f"{min(per_run)}–{max(per_run)}"
        lines.append(f"  {name:<{width}}  HTTP {status}  {q:>5} SQL  median "
                     f"{statistics.median(timings):7.1f} ms  max {max(timings):7.1f} ms"
                     f"  {size / 1024:8.0f} KiB")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return lines


def run_databases(run: Callable[[str, str], list[str]], args, prefix: str) -> list[str]:
    """``run(uri, label)`` on a throwaway SQLite file (unless ``--no-sqlite``), then on a
    throwaway PostgreSQL database when ``--pg`` (or ``TEST_DATABASE_URL``) is given."""
    out: list[str] = []
    if not args.no_sqlite:
        work = Path(tempfile.mkdtemp(prefix=prefix))
        try:
            out += run(f"sqlite:///{work / 'bench.db'}", "SQLite")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    test_url = os.environ.get("TEST_DATABASE_URL")
    if args.pg is not None or test_url:
        with throwaway_postgres(args.pg, test_url) as url:
            out += run(url, "PostgreSQL")
    return out


def add_database_options(parser) -> None:
    parser.add_argument("--pg", nargs="?", const="", default=None, metavar="ADMIN_URL",
                        help="also on a throwaway PostgreSQL database on this server")
    parser.add_argument("--no-sqlite", action="store_true")


@contextlib.contextmanager
def throwaway_postgres(admin: str | None, test_url: str | None) -> Iterator[str]:
    """A new PostgreSQL database on the server of ``admin`` (or of ``TEST_DATABASE_URL``),
    dropped afterwards; yields its SQLAlchemy URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = admin or os.environ.get("PG_ADMIN_URL")
    if not admin and test_url:
        admin = make_url(test_url).set(database="postgres").render_as_string(
            hide_password=False)
    admin = (admin or "postgresql://postgres@127.0.0.1:5432/postgres").replace(
        "postgresql+psycopg://", "postgresql://")
    name = f"accreditor_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        url = make_url(admin).set(database=name, drivername="postgresql+psycopg")
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
