"""Test harness: one app per session, one schema per session, one rolled-back transaction per test.

The database is SQLite (a temp file) unless ``TEST_DATABASE_URL`` names a PostgreSQL database.
Each test runs inside an outer transaction on a single connection; application code may call
``commit()`` freely (SQLAlchemy 2's ``join_transaction_mode="create_savepoint"`` recipe) and
everything is rolled back afterwards. Jobs queued by the app run in-process in a fresh app
context, whose session is bound to the same connection, so they see the test's data.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FSASession
from sqlalchemy import event

from accreditor import create_app
from accreditor.config import from_environment
from accreditor.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
PASSWORD = "Tessellated-Marmot-Orbit-42"


def database_uri(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return from_environment(object, {"DATABASE_URL": TEST_DATABASE_URL})[
            "SQLALCHEMY_DATABASE_URI"
        ]
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (fresh ``g`` and session), as in production.

    Without this, Flask reuses the test's app context, so ``g.tenant`` and the logged-in user
    would leak from one request into the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app(
        {
            "ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_uri(tmp_path_factory),
            "REDIS_URL": None,  # jobs in-process unless a test opts into Redis
            "SERVER_NAME": "localhost",
            "STORAGE_DIR": str(tmp_path_factory.mktemp("files")),
            "RENDER_PDFS": False,  # the `render_pdfs` fixture turns it on where PDFs matter
        }
    )
    app.test_client_class = FreshContextClient
    with app.app_context():
        from accreditor.core.db import commit
        from accreditor.refdata.services import load_platform_refdata

        db.drop_all()
        db.create_all()
        load_platform_refdata()  # platform reference lists, shared by every test
        commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


class BoundSession(FSASession):
    """Flask-SQLAlchemy picks its engine itself; in tests every session uses the test connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


@pytest.fixture(autouse=True)
def _db(app) -> Iterator[None]:
    """Per test: an outer transaction that is always rolled back."""
    ctx = app.app_context()
    ctx.push()
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = db._make_scoped_session(
        {"class_": BoundSession, "bind": connection, "join_transaction_mode": "create_savepoint"}
    )
    try:
        yield
    finally:
        db.session.remove()
        db.session = original
        if outer.is_active:
            outer.rollback()
        connection.close()
        ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# -- data helpers ------------------------------------------------------------------------------


@pytest.fixture
def make_tenant():
    from tests.factories import create_tenant

    return create_tenant


@pytest.fixture
def make_user():
    from tests.factories import create_member

    return create_member


@pytest.fixture
def tenant_a(make_tenant):
    return make_tenant("alpha", "Alpha Accreditation Service")


@pytest.fixture
def tenant_b(make_tenant):
    return make_tenant("bravo", "Bravo Accreditation Bureau")


@pytest.fixture
def admin_a(tenant_a, make_user):
    from accreditor.core.permissions import Role

    return make_user(tenant_a, "admin@alpha.example.org", [Role.admin], name="Alice Admin")


@pytest.fixture
def admin_b(tenant_b, make_user):
    from accreditor.core.permissions import Role

    return make_user(tenant_b, "admin@bravo.example.org", [Role.admin], name="Boris Bravo-Admin")


@pytest.fixture
def login_as(client):
    """``login_as(user)`` signs the test client in through the real login form."""

    def _login(user, password: str = PASSWORD):
        client.post("/logout")
        resp = client.post("/login", data={"email": user.email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return user

    return _login


# -- query counting ----------------------------------------------------------------------------


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not re.match(r"\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)", statement, re.I):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def render_pdfs(app):
    """Render the certificate and schedule PDFs of new schedule issues (off by default: each
    issue costs ~0.3 s of font subsetting)."""
    app.config["RENDER_PDFS"] = True
    yield
    app.config["RENDER_PDFS"] = False


@pytest.fixture
def directory_exports(app):
    """Regenerate the open-data files after every publish (off by default: the job writes two
    files per AB and the global ones after each commit that publishes)."""
    app.config["DIRECTORY_EXPORTS"] = True
    yield
    app.config["DIRECTORY_EXPORTS"] = False


@pytest.fixture
def count_queries(app):
    """``with count_queries() as q: ...`` then ``q.count``: SQL statements sent in the block."""

    @contextlib.contextmanager
    def _count():
        counter = QueryCounter()
        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)

    return _count


@pytest.fixture
def assert_max_queries(count_queries):
    """``with assert_max_queries(8): client.get(...)`` fails, listing the SQL, above the bound."""

    @contextlib.contextmanager
    def _assert(n: int):
        with count_queries() as q:
            yield q
        assert q.count <= n, f"{q.count} queries > {n}:\n" + "\n".join(q.statements)

    return _assert


@pytest.fixture
def outbox():
    """Messages in the outbox, newest last."""
    from sqlalchemy import select

    from accreditor.core.mail import OutboxMessage

    def _messages(to: str | None = None):
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if to:
            stmt = stmt.where(OutboxMessage.to == to)
        return db.session.execute(stmt).scalars().all()

    return _messages


def extract_link(text: str, path_prefix: str) -> str:
    m = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s\"<]+)", text)
    assert m, f"no {path_prefix} link in:\n{text}"
    return m.group(1)
