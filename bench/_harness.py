"""What the benches share: an app on a throwaway SQLite file (or a given database) whose work is
rolled back at the end, and a counter of the SQL statements a block sends."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
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
