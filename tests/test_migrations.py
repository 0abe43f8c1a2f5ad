"""The migrations build the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from accreditor import create_app
from accreditor.config import from_environment
from accreditor.directory.search import include_name
from accreditor.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture
def empty_database(tmp_path):
    """A brand-new empty database of the same kind as the suite's."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    url = from_environment(object, {"DATABASE_URL": TEST_DATABASE_URL})["SQLALCHEMY_DATABASE_URI"]
    name = f"accreditor_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def migrated_app(empty_database):
    app = create_app({"ENV": "testing", "SQLALCHEMY_DATABASE_URI": empty_database,
                      "REDIS_URL": None})
    with app.app_context():
        upgrade()
        yield app
        db.engine.dispose()


def _diff(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "compare_server_default": False,
                                                     "include_name": include_name})
        return compare_metadata(ctx, db.metadata)


def test_upgrading_an_empty_database_matches_the_models(migrated_app):
    diff = _diff(migrated_app)
    assert diff == [], f"models and migrations disagree — run `flask db migrate`:\n{diff}"


def test_migrations_downgrade_to_base_and_upgrade_again(migrated_app):
    with migrated_app.app_context():
        downgrade(revision="base")
        with db.engine.connect() as conn:
            tables = db.inspect(conn).get_table_names()
        assert set(tables) <= {"alembic_version"}
        upgrade()
    assert _diff(migrated_app) == []


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL trigger; runs with TEST_DATABASE_URL")
def test_postgresql_refuses_updates_and_deletes_of_audit_events(migrated_app):
    # Raw SQL on the migrated database (the test session is bound to the suite's database).
    with migrated_app.app_context(), db.engine.connect() as conn:
        conn.execute(text(
            "INSERT INTO audit_events (seq, actor_label, action, object_type, changes, created_at,"
            " prev_hash, hash) VALUES (1, 'system', 'test', '-', '{}', now(), :g, :h)"
        ), {"g": "0" * 64, "h": "f" * 64})
        conn.commit()
        with pytest.raises(Exception, match="append-only"):
            conn.execute(text("UPDATE audit_events SET action = 'x'"))
        conn.rollback()
        with pytest.raises(Exception, match="append-only"):
            conn.execute(text("DELETE FROM audit_events"))
        conn.rollback()
        with pytest.raises(Exception, match="append-only"):
            conn.execute(text("TRUNCATE audit_events"))
        conn.rollback()
