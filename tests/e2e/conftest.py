"""Browser tests: a live server on a migrated, demo-loaded SQLite file, driven by Chromium.

The system Chromium is used (``apt-get install chromium``); Playwright's own browser download is
never needed. Without Chromium these tests skip, unless ``REQUIRE_BROWSER=1`` (CI), which turns
the skip into a failure.

The live server runs in a thread of this process against its own app and database file, so the
suite's per-test rolled-back transaction (the ``_db`` fixture of ``tests/conftest.py``) is
switched off here: the server's requests must see each other's commits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000  # per action / assertion: a broken page fails fast instead of hanging


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    password: str


# AB administrator in both demo tenants (nab, gac) and platform administrator.
JOURNEY_ADMIN = Person("erin.everywhere@e2e.example.org", "Erin Everywhere",
                       "Copper-Harbour-Violet-73")


def pytest_collection_modifyitems(config, items):
    """Every test under tests/e2e/ carries the ``e2e`` marker (``-m "not e2e"`` skips them)."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _no_browser(reason: str):
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


# -- the suite's transactional fixture does not apply here ------------------------------------


@pytest.fixture(autouse=True)
def _db() -> Iterator[None]:
    """Overrides tests/conftest.py's ``_db``: no shared test connection, no session swap."""
    yield


# -- live server ----------------------------------------------------------------------------


@contextlib.contextmanager
def _logging_preserved():
    """Alembic's env.py calls ``logging.config.fileConfig``, which disables every logger that
    exists already and replaces the root handlers; put the test process's logging back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    loggers = [lg for lg in logging.root.manager.loggerDict.values()
               if isinstance(lg, logging.Logger)]
    disabled = {lg.name: lg.disabled for lg in loggers}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for lg in logging.root.manager.loggerDict.values():
            if isinstance(lg, logging.Logger):
                lg.disabled = disabled.get(lg.name, False)


def _build_app(db_path: Path):
    from flask_migrate import upgrade

    from accreditor import create_app
    from accreditor.core.db import commit
    from accreditor.core.permissions import Role
    from accreditor.demo import load_demo
    from accreditor.extensions import db
    from accreditor.tenants.models import Tenant
    from tests.factories import create_member

    app = create_app({
        "ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "REDIS_URL": None,  # jobs (mail delivery) run in-process after the request
        "WTF_CSRF_ENABLED": True,  # as in production: every form must carry its token
    })
    with app.app_context():
        with _logging_preserved():
            upgrade()  # the schema comes from the migrations, not create_all
        load_demo()
        commit()
        tenants = {t.slug: t for t in db.session.execute(db.select(Tenant)).scalars()}
        p = JOURNEY_ADMIN
        create_member(tenants["nab"], p.email, [Role.admin], name=p.name, password=p.password,
                      is_platform_admin=True)
        create_member(tenants["gac"], p.email, [Role.admin])
        db.session.remove()
    return app


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>``) of the app served from a background thread."""
    from werkzeug.serving import make_server

    from accreditor.extensions import db

    app = _build_app(tmp_path_factory.mktemp("e2e") / "e2e.db")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"  # mail links use BASE_URL
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def journey_admin() -> Person:
    return JOURNEY_ADMIN


# -- browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    _no_browser("no system Chromium found on PATH (tried: " + ", ".join(CHROMIUM_NAMES)
                + "); install it with `apt-get install chromium`")


@pytest.fixture(scope="session")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the `playwright` package is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=chromium_path, headless=True,
                                         args=CHROMIUM_ARGS)
        except Exception as exc:  # a Chromium too old/new for Playwright, missing libraries…
            _no_browser(f"Chromium at {chromium_path} did not start: {exc}")
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh page in a fresh browser context (own cookies) per test; relative URLs work."""
    context = browser.new_context(base_url=live_server, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
