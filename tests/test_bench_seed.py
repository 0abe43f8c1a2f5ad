"""``flask bench seed`` at a tiny size: what it writes is what publishing writes, the public
pages and /verify answer for it, it is deterministic, and it refuses to clobber real data."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from accreditor import bench_cli
from accreditor.cabs.models import Cab
from accreditor.core.tenancy import ALL_TENANTS, tenant_scope
from accreditor.directory import services
from accreditor.directory.models import DirectoryEntry, DirectoryLine
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation, ScopeEvent, ScopeItem
from accreditor.tenants.models import Tenant

TINY = ["bench", "seed", "--tenants", "2", "--accreditations", "30", "--scope-lines", "300"]


def _all(stmt):
    return db.session.execute(stmt.execution_options(**{ALL_TENANTS: True}))


def _entries() -> list[tuple[DirectoryEntry, str]]:
    return list(_all(select(DirectoryEntry, Tenant.slug).join(
        Tenant, Tenant.id == DirectoryEntry.tenant_id).order_by(DirectoryEntry.id)).all())


@pytest.fixture
def seeded(runner):
    result = runner.invoke(args=TINY)
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def test_tiny_seed_has_the_lines_asked_for_and_every_status(seeded):
    assert _all(select(func.count(ScopeItem.id))).scalar_one() == 300
    assert _all(select(func.count(DirectoryLine.id))).scalar_one() == 300
    entries = _entries()
    assert len(entries) == 30
    assert {e.status for e, _ in entries} >= {
        "accredited", "partially_suspended", "suspended", "inactive", "withdrawn",
        "voluntarily_withdrawn"}
    assert {s for _, s in entries} == {"bench-albion", "bench-nordic"}
    # at least the grant event for every line, and later suspensions / withdrawals
    events = _all(select(ScopeEvent.to_status, func.count()).group_by(ScopeEvent.to_status)).all()
    by_status = dict(events)
    assert by_status["accredited"] == 300
    assert by_status["suspended"] > 0 and by_status["withdrawn"] > 0
    assert "2,000-line entry" not in seeded  # 300 lines cannot hold one
    assert "| phase | seconds |" in seeded


def test_seeded_rows_are_exactly_what_publish_writes(seeded):
    """Republishing every seeded accreditation changes nothing (same header, history, lines,
    search text, digests)."""
    outcomes = []
    for tenant in _all(select(Tenant).where(Tenant.slug.startswith("bench-"))).scalars():
        with tenant_scope(tenant):
            for acc in db.session.execute(select(Accreditation)).scalars():
                outcomes.append(services.publish_outcome(acc).result)
    assert outcomes == ["unchanged"] * 30
    db.session.rollback()


def test_public_pages_and_verify_answer_for_seeded_entries(seeded, client):
    today = date.today()
    entries = _entries()
    live = next(e for e, _ in entries if e.status == "accredited" and e.number not in
                {x.number for x, s in entries if s == "bench-nordic"})
    slug = "bench-albion" if live.tenant_id == entries[0][0].tenant_id else "bench-nordic"
    page = client.get(f"/{slug}/directory/{live.number}")
    assert page.status_code == 200
    assert live.legal_name in page.get_data(as_text=True)
    answer = client.get(f"/verify/?number={live.number}&ab={slug}")
    assert answer.status_code == 200 and "Yes." in answer.get_data(as_text=True)

    # withdrawn more than 13 months ago: gone from the directory, verifiable for a past date
    old = next(e for e, _ in entries if e.visible_until is not None and e.visible_until < today)
    assert client.get(f"/bench-albion/directory/{old.number}").status_code == 404
    answer = client.get(f"/verify/?number={old.number}&ab=bench-albion"
                        f"&on={old.initial_grant_on.isoformat()}")
    assert "Yes." in answer.get_data(as_text=True)

    # a number two ABs use: /verify asks which one
    shared = re.search(r"numbers used by two ABs: ([^ ,]+)", seeded).group(1)
    body = client.get(f"/verify/?number={shared}").get_data(as_text=True)
    assert "bench-albion" in body and "bench-nordic" in body


def test_the_2000_line_entry_when_the_total_allows_it(runner, client):
    result = runner.invoke(args=["bench", "seed", "--tenants", "1", "--accreditations", "4",
                                 "--scope-lines", "2010"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert _all(select(func.count(ScopeItem.id))).scalar_one() == 2010
    entries = _entries()
    big = [e for e, _ in entries if e.lines_total == 2000]
    assert len(big) == 1 and big[0].scope_type == "calibration"
    assert f"2,000-line entry: /bench-albion/directory/{big[0].number}" in result.output
    page = client.get(f"/bench-albion/directory/{big[0].number}")
    assert page.status_code == 200


def test_same_arguments_same_data_other_seed_other_data(app):
    def rows(seed: int):
        plan = bench_cli.make_plan(tenants=2, accreditations=30, scope_lines=300, seed=seed,
                                   today=date(2026, 6, 30))
        refs = bench_cli._refs()
        out = []
        for tp in plan.tenants:
            ids = bench_cli.Ids(dict.fromkeys(bench_cli.TABLE_ORDER, 1))
            out.append(bench_cli.generate_tenant(plan, tp, tp.index + 1, refs, ids).rows)
        return out

    first, again, other = rows(1), rows(1), rows(2)
    assert first == again
    names = [c["legal_name"] for c in first[0]["cabs"]]
    assert names != [c["legal_name"] for c in other[0]["cabs"]]
    numbers = [a["number"] for a in first[0]["accreditations"]]
    assert len(set(numbers)) == len(numbers)  # unique per AB


def test_refuses_a_database_with_other_tenants(tenant_a, runner):
    result = runner.invoke(args=TINY)
    assert result.exit_code == 2
    assert "not bench data (alpha)" in result.output
    db.session.expire_all()
    assert _all(select(func.count(Tenant.id))).scalar_one() == 1


SMALL = ["bench", "seed", "--tenants", "1", "--accreditations", "2", "--scope-lines", "3"]


@pytest.mark.parametrize("extra, active", [([], False), (["--active"], True)])
def test_add_to_other_data_only_with_force_and_then_inactive(tenant_a, runner, client, extra,
                                                             active):
    result = runner.invoke(args=[*SMALL, "--force", *extra])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    with tenant_scope(tenant_a):
        assert db.session.execute(select(func.count(DirectoryEntry.id))).scalar_one() == 0
    bench = _all(select(Tenant).where(Tenant.slug == "bench-albion")).scalar_one()
    assert bench.is_active is active
    listed = "bench-albion" in client.get("/directory/").get_data(as_text=True) or \
        client.get("/bench-albion/directory/").status_code == 200
    assert listed is active  # fake bodies appear publicly only when asked


def test_refused_under_the_production_configuration(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "ENV", "production")
    result = runner.invoke(args=SMALL)
    assert result.exit_code == 2 and "production" in result.output
    db.session.expire_all()
    assert _all(select(func.count(Tenant.id))).scalar_one() == 0


def test_refuses_a_database_with_users(runner):
    from accreditor.auth.models import User

    db.session.add(User(email="someone@example.com", name="Someone"))
    db.session.flush()
    result = runner.invoke(args=SMALL)
    assert result.exit_code == 2 and "1 user(s)" in result.output
    db.session.expire_all()
    assert _all(select(func.count(Tenant.id))).scalar_one() == 0


def test_refuses_a_database_with_platform_audit_events(runner):
    from accreditor.core import audit

    audit.record("platform.note", object_type="platform", object_id="1", platform=True)
    db.session.flush()
    result = runner.invoke(args=SMALL)
    assert result.exit_code == 2 and "1 audit event(s) not made by the bench" in result.output


def test_reset_is_refused_when_other_data_would_go(tenant_a, runner):
    result = runner.invoke(args=[*TINY, "--reset", "--force", f"--yes-drop={_db_name()}"])
    assert result.exit_code == 2
    assert "--reset drops Accreditor's tables" in result.output
    db.session.expire_all()
    assert _all(select(Tenant.slug)).scalars().all() == ["alpha"]


def _db_name() -> str:
    return db.engine.url.database or ""


@pytest.mark.parametrize("confirm", [[], ["--yes-drop=other"]])
def test_reset_needs_the_database_name(seeded, runner, confirm):
    result = runner.invoke(args=[*TINY, "--reset", *confirm])
    assert result.exit_code == 2
    assert f"--yes-drop={_db_name()}" in result.output
    db.session.expire_all()
    assert _all(select(func.count(DirectoryEntry.id))).scalar_one() == 30


def test_reset_drops_only_accreditors_tables(tmp_path, monkeypatch):
    """On a database of its own: --reset keeps a table that is not Accreditor's (no
    DROP SCHEMA / file deletion) and seeds again."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from accreditor import create_app

    path = tmp_path / "bench.db"
    other = create_app({"ENV": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                        "REDIS_URL": None, "RENDER_PDFS": False})
    with other.app_context():
        # a session of this app's own (not the suite's per-test transaction)
        monkeypatch.setattr(db, "session", db._make_scoped_session({}))
        upgrade()
        db.session.execute(text("CREATE TABLE keep_me (x INTEGER)"))
        db.session.execute(text("INSERT INTO keep_me VALUES (42)"))
        db.session.commit()
        runner = other.test_cli_runner()
        assert runner.invoke(args=SMALL).exit_code == 0
        result = runner.invoke(args=[*SMALL, "--reset", f"--yes-drop={path}"])
        assert result.exit_code == 0, result.output
        db.session.remove()
        assert db.session.execute(text("SELECT x FROM keep_me")).scalar_one() == 42
        assert db.session.execute(select(func.count(Tenant.id))).scalar_one() == 1
        db.session.remove()
        db.engine.dispose()


def test_seeded_history_is_realistic(seeded):
    """A schedule issue per elapsed five-year cycle; suspensions within the policy maximum
    (their max_end_on still ahead); every decision decided on its effective date."""
    from dateutil.relativedelta import relativedelta

    from accreditor.decisions.models import Decision, ScheduleVersion

    today = date.today()
    accs = _all(select(Accreditation)).scalars().all()
    renewed = 0
    for acc in accs:
        issues = {v.issued_on for v in _all(select(ScheduleVersion).where(
            ScheduleVersion.accreditation_id == acc.id)).scalars()}
        assert acc.cycle_end_on > acc.cycle_start_on >= acc.initial_grant_on
        years = 5
        while acc.initial_grant_on + relativedelta(years=years) <= acc.cycle_start_on:
            assert acc.initial_grant_on + relativedelta(years=years) in issues, acc.number
            years += 5
            renewed += 1
    assert renewed > 0
    live = {a.id for a in accs if a.status in ("suspended", "partially_suspended")}
    suspensions = [d for d in _all(select(Decision).where(Decision.kind == "suspend")).scalars()
                   if d.accreditation_id in live]
    assert suspensions and all(d.max_end_on > today for d in suspensions)
    for d in _all(select(Decision)).scalars():
        assert d.decided_at.date() == d.effective_on, d.kind


def test_postgresql_ids_are_reserved_from_the_sequences(runner):
    """Ids come from past each sequence (set ahead here, as live inserts would), and the
    sequences end past the seeded rows."""
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL sequences")
    conn = db.session.connection()
    seq = conn.execute(text("SELECT pg_get_serial_sequence('cabs', 'id')")).scalar_one()
    ahead = (conn.execute(text("SELECT max(id) FROM cabs")).scalar() or 0) + 500
    conn.execute(text("SELECT setval(:s, :v)"), {"s": seq, "v": ahead})
    result = runner.invoke(args=SMALL)
    assert result.exit_code == 0, result.output
    ids = _all(select(Cab.id)).scalars().all()
    assert ids and min(ids) > ahead
    conn = db.session.connection()
    last = conn.execute(text("SELECT last_value FROM " + seq)).scalar_one()  # noqa: S608
    assert last >= max(ids)


def test_a_second_run_is_refused_without_reset(seeded, runner):
    again = runner.invoke(args=TINY)
    assert again.exit_code == 2
    assert "already holds bench data" in again.output and "--reset" in again.output
    db.session.expire_all()
    assert _all(select(func.count(DirectoryEntry.id))).scalar_one() == 30


def test_sizes_that_cannot_work_are_refused(runner):
    result = runner.invoke(args=["bench", "seed", "--tenants", "3", "--accreditations", "2",
                                 "--scope-lines", "10"])
    assert result.exit_code == 2
    assert "at least one accreditation per tenant" in result.output


def test_livez_is_plain_ok_without_sql(client, count_queries):
    with count_queries() as q:
        resp = client.get("/livez")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain" and resp.get_data(as_text=True) == "ok"
    assert q.count == 0


def _bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "bench" / "directory.py"
    spec = importlib.util.spec_from_file_location("bench_directory", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_times_only_successes_and_fails_on_errors():
    bench = _bench()
    assert bench.nearest_rank([float(i) for i in range(1, 201)], 0.95) == 190.0
    assert bench.nearest_rank([1.0, 2.0, 3.0], 0.95) == 3.0
    answers = iter([(200, 1.0)] * 3 + [(500, 0.1), (200, 5.0), (200, 7.0)])
    r = bench.timed_requests(lambda url: next(answers), ["/a", "/b", "/c"], 3)
    assert r["statuses"] == {200: 2, 500: 1} and r["timed"] == 2 and r["failed"]  # warm-up: 3
    assert r["p95"] == 7.0  # the 500's 0.1 ms is not a result
    assert not bench.failed({200: 199, 404: 1}) and bench.failed({200: 98, 404: 2})
    assert bench.failed({200: 999, 503: 1}) and bench.failed({})
