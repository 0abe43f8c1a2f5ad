"""Append-only audit trail, hash-chained per tenant.

Each :class:`AuditEvent` stores ``prev_hash`` (the previous event's hash in the same chain, or
64 zeros for the first) and ``hash`` = SHA-256 over the canonical JSON of the event plus
``prev_hash``. Tenants have one chain each; platform actions (creating tenants, platform-admin
logins) form a chain with ``tenant_id`` NULL. Services call :func:`record` inside the same
transaction as the change. The app never updates or deletes events (a flush guard refuses it,
and on PostgreSQL a trigger does too); :func:`verify_chain` recomputes a chain.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, event, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from accreditor.core.db import Base, utcnow
from accreditor.core.tenancy import ALL_TENANTS, TenantScoped, current_tenant_id

GENESIS = "0" * 64


class AuditEvent(TenantScoped, Base):
    __tablename__ = "audit_events"
    __allow_platform_rows__ = True
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_audit_events_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(  # type: ignore[assignment]
        ForeignKey("tenants.id", ondelete="RESTRICT"), index=True
    )
    seq: Mapped[int]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(60))
    # The CAB an event concerns, for the CAB page's history tab (not a scoping column).
    subject_cab_id: Mapped[int | None] = mapped_column(index=True)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def canonical(self) -> bytes:
        payload = {
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "subject_cab_id": self.subject_cab_id,
            "changes": self.changes,
            "request_id": self.request_id,
            "ip": self.ip,
            "created_at": self.created_at.isoformat(timespec="microseconds"),
            "prev_hash": self.prev_hash,
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def jsonable(value: Any) -> Any:
    """Turn a column value into something JSON keeps exactly (dates as ISO text, Decimal as text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def diff(obj: Any, *, exclude: tuple[str, ...] = ("password_hash", "session_token")) -> dict:
    """Changed column attributes of ``obj`` as ``{field: [before, after]}`` (call before flush)."""
    state = inspect(obj)
    changes: dict[str, list] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in exclude:
            continue
        hist = state.attrs[attr.key].history
        if hist.has_changes():
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if before != after:
                changes[attr.key] = [jsonable(before), jsonable(after)]
    return changes


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict:
    """``{field: [None, value]}`` for a newly created object."""
    return {f: [None, jsonable(getattr(obj, f))] for f in fields}


@dataclass
class Actor:
    id: int | None
    label: str


def _current_actor() -> Actor:
    if has_request_context() and current_user and current_user.is_authenticated:
        return Actor(current_user.id, current_user.email)
    return Actor(None, g.get("actor_label", "system"))


def _lock_chain(session: Session, tenant_id: int | None) -> None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(
            text("SELECT pg_advisory_xact_lock(:k1, :k2)"), {"k1": 0x41554454, "k2": tenant_id or 0}
        )
    # SQLite serialises writers itself.


@contextmanager
def private_to_cab(private: bool = True) -> Iterator[None]:
    """Events recorded inside are not attached to their CAB (``subject_cab_id`` stays NULL), so
    they stay off the staff CAB history: a CAB's work on a draft the AB has not received yet.
    The tenant's audit log (admins) still has them."""
    before = g.get("audit_private_to_cab", False)
    g.audit_private_to_cab = before or private
    try:
        yield
    finally:
        g.audit_private_to_cab = before


def record(
    action: str,
    obj: Any = None,
    *,
    changes: dict | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    platform: bool = False,
    actor: Actor | None = None,
) -> AuditEvent:
    """Append an event to the current tenant's chain (or, with ``platform=True``, to the
    platform chain of actions that belong to no tenant), in the caller's transaction.

    ``obj`` supplies object type and id (flushed first so new objects have an id).
    """
    from accreditor.extensions import db

    session = db.session
    if obj is not None:
        if inspect(obj).pending:
            session.flush()
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
        subject_cab_id = None if g.get("audit_private_to_cab") else getattr(obj, "cab_id", None)
    else:
        subject_cab_id = None
    tid = None if platform else current_tenant_id()
    if tid is None and not platform:
        raise RuntimeError("audit.record outside a tenant scope; pass platform=True for "
                           "actions that belong to no tenant")
    actor = actor or _current_actor()
    _lock_chain(session, tid)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.tenant_id.is_(None) if tid is None else AuditEvent.tenant_id == tid)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
        .execution_options(**{ALL_TENANTS: True})
    ).first()
    event_ = AuditEvent(
        tenant_id=tid,
        seq=(last.seq + 1) if last else 1,
        actor_id=actor.id,
        actor_label=actor.label,
        action=action,
        object_type=object_type or "-",
        object_id=None if object_id is None else str(object_id),
        subject_cab_id=subject_cab_id,
        changes=jsonable(changes or {}),
        request_id=g.get("request_id"),
        ip=request.remote_addr if has_request_context() else None,
        created_at=utcnow(),
        prev_hash=last.hash if last else GENESIS,
    )
    event_.hash = event_.compute_hash()
    session.add(event_)
    session.flush()
    return event_


@dataclass
class ChainReport:
    tenant_id: int | None
    checked: int
    broken_event_id: int | None = None
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_event_id is None


def verify_chain(tenant_id: int | None, *, batch: int = 2000) -> ChainReport:
    """Recompute one chain in order; report the first event whose links or hash do not match."""
    from accreditor.extensions import db

    prev, expected_seq, checked, last_seq = GENESIS, 1, 0, 0
    cond = AuditEvent.tenant_id.is_(None) if tenant_id is None else AuditEvent.tenant_id == tenant_id
    while True:
        rows = db.session.execute(
            select(AuditEvent)
            .where(cond, AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
            .execution_options(**{ALL_TENANTS: True})
        ).scalars().all()
        if not rows:
            return ChainReport(tenant_id, checked)
        for ev in rows:
            reason = None
            if ev.seq != expected_seq:
                reason = f"sequence gap: expected {expected_seq}, found {ev.seq}"
            elif ev.prev_hash != prev:
                reason = "prev_hash does not match the previous event"
            elif ev.compute_hash() != ev.hash:
                reason = "hash does not match the event's content"
            if reason:
                return ChainReport(tenant_id, checked, ev.id, ev.seq, reason)
            prev, expected_seq, checked, last_seq = ev.hash, ev.seq + 1, checked + 1, ev.seq
        db.session.expunge_all()


def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit events are append-only")


def install_listeners() -> None:
    if not event.contains(Session, "before_flush", _refuse_audit_changes):
        event.listen(Session, "before_flush", _refuse_audit_changes)
