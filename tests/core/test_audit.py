"""The audit trail: chained per tenant, written with the change, append-only, verifiable."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from accreditor.core import audit
from accreditor.core.audit import GENESIS, AuditEvent, verify_chain
from accreditor.core.db import commit
from accreditor.core.tenancy import ALL_TENANTS, tenant_scope
from accreditor.extensions import db
from accreditor.tenants.models import Tenant


def _events(tenant_id):
    cond = AuditEvent.tenant_id.is_(None) if tenant_id is None else AuditEvent.tenant_id == tenant_id
    return db.session.execute(
        select(AuditEvent).where(cond).order_by(AuditEvent.seq)
        .execution_options(**{ALL_TENANTS: True})
    ).scalars().all()


def test_each_tenant_has_its_own_chain(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        audit.record("test.one", tenant_a)
    with tenant_scope(tenant_b):
        audit.record("test.one", tenant_b)
    with tenant_scope(tenant_a):
        audit.record("test.two", tenant_a)
    commit()
    a, b = _events(tenant_a.id), _events(tenant_b.id)
    assert [e.seq for e in a] == list(range(1, len(a) + 1))
    assert [e.seq for e in b] == list(range(1, len(b) + 1))
    assert a[0].prev_hash == GENESIS and b[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(a, a[1:], strict=False))
    assert [e.action for e in a][-2:] == ["test.one", "test.two"]
    assert verify_chain(tenant_a.id).ok and verify_chain(tenant_b.id).ok


def test_event_records_actor_object_changes_and_time(tenant_a):
    with tenant_scope(tenant_a):
        tenant_a.name = "Alpha Renamed"
        changes = audit.diff(tenant_a)
        ev = audit.record("tenant.renamed", tenant_a, changes=changes)
    commit()
    assert ev.object_type == "Tenant" and ev.object_id == str(tenant_a.id)
    assert ev.changes == {"name": ["Alpha Accreditation Service", "Alpha Renamed"]}
    assert ev.actor_label == "system"
    assert ev.created_at.tzinfo is not None


def test_the_event_is_rolled_back_with_the_change(tenant_a):
    before = len(_events(tenant_a.id))
    with tenant_scope(tenant_a):
        tenant_a.name = "Never saved"
        audit.record("tenant.renamed", tenant_a, changes=audit.diff(tenant_a))
    db.session.rollback()
    assert len(_events(tenant_a.id)) == before
    assert db.session.execute(select(Tenant.name).where(Tenant.id == tenant_a.id)).scalar_one() \
        == "Alpha Accreditation Service"


def test_the_app_refuses_to_change_or_delete_events(tenant_a):
    ev = _events(tenant_a.id)[0]
    ev.action = "tampered"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    ev = _events(tenant_a.id)[0]
    db.session.delete(ev)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def _tamper(event_id: int, **values) -> None:
    # Bypass the ORM guard, as someone with database access would.
    db.session.execute(
        update(AuditEvent).where(AuditEvent.id == event_id).values(**values)
        .execution_options(**{ALL_TENANTS: True, "synchronize_session": False})
    )
    commit()


def test_verify_names_the_first_event_whose_content_was_changed(tenant_a, runner):
    with tenant_scope(tenant_a):
        for i in range(4):
            audit.record(f"test.step{i}", tenant_a)
    commit()
    result = runner.invoke(args=["audit", "verify", "--tenant", "alpha"])
    assert result.exit_code == 0, result.output
    assert "alpha: ok" in result.output

    events = _events(tenant_a.id)
    victim = events[2]
    _tamper(victim.id, changes={"forged": [None, True]})
    report = verify_chain(tenant_a.id)
    assert not report.ok
    assert report.broken_event_id == victim.id
    assert "hash does not match" in report.reason

    result = runner.invoke(args=["audit", "verify", "--tenant", "alpha"])
    assert result.exit_code == 1
    assert f"BROKEN at event id {victim.id}" in result.output


def test_verify_detects_a_deleted_event(tenant_a, tenant_b, runner):
    with tenant_scope(tenant_a):
        for i in range(3):
            audit.record(f"test.step{i}", tenant_a)
    commit()
    events = _events(tenant_a.id)
    db.session.execute(
        text("DELETE FROM audit_events WHERE id = :id"), {"id": events[1].id}
    )
    commit()
    report = verify_chain(tenant_a.id)
    assert report.broken_event_id == events[2].id
    assert "sequence gap" in report.reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "bravo: ok" in result.output and "alpha: BROKEN" in result.output


def test_verify_reports_ok_for_all_chains_including_the_platform_chain(tenant_a, runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "platform: ok" in result.output
    assert "alpha: ok" in result.output
