"""Tenant isolation: the current tenant, a global ORM filter, a write guard and scoped lookups.

Every tenant-owned model inherits :class:`TenantScoped`. Once per request (or job, or CLI
command) the current tenant is put in ``g`` with :func:`set_current_tenant` or
:func:`tenant_scope`. Then:

* every ORM SELECT/UPDATE/DELETE gets ``tenant_id = :current`` on every ``TenantScoped`` entity,
  joined ones and relationship loads included (SQLAlchemy's ``with_loader_criteria`` recipe);
* with no current tenant, tenant-scoped queries return **no rows** (fail closed);
* a flush that would insert, change or delete a row of another tenant raises
  :class:`CrossTenantWrite`; new rows get the current tenant automatically.

Opting out is explicit — ``select(...).execution_options(all_tenants=True)`` — and is used only
in ``core/`` (login, audit verification) and the public projection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import abort, g, has_app_context
from sqlalchemy import ForeignKey, event, select
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

ALL_TENANTS = "all_tenants"
_NO_TENANT = 0  # no real tenant has id 0: unset scope matches nothing

M = TypeVar("M")


class CrossTenantWrite(RuntimeError):
    """A flush tried to write a row that belongs to another tenant (a programming error)."""


class TenantScoped:
    """Mixin for every tenant-owned model: adds ``tenant_id`` and opts the class into the filter."""

    # Platform-wide rows (tenant_id NULL) are allowed only where a model says so (audit events
    # of platform actions); they are never visible inside a tenant.
    __allow_platform_rows__ = False

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"), index=True)


def current_tenant_id() -> int | None:
    if not has_app_context():
        return None
    return g.get("tenant_id")


def set_current_tenant(tenant) -> None:
    g.tenant = tenant
    g.tenant_id = tenant.id if tenant is not None else None


@contextmanager
def tenant_scope(tenant_or_id) -> Iterator[None]:
    """Run a block (job, CLI command, test) as inside one tenant; restores the previous scope."""
    from accreditor.tenants.models import Tenant

    prev = (g.get("tenant"), g.get("tenant_id"))
    if isinstance(tenant_or_id, Tenant):
        g.tenant, g.tenant_id = tenant_or_id, tenant_or_id.id
    else:
        g.tenant, g.tenant_id = None, int(tenant_or_id)
    try:
        yield
    finally:
        g.tenant, g.tenant_id = prev


def get_scoped_or_404(model: type[M], ident: Any, *options: Any, **filters: Any) -> M:
    """Load ``model`` by primary key through the tenant filter; another tenant's row is a 404.

    Never uses ``Session.get``: an identity-map hit would skip the filter.
    """
    from accreditor.extensions import db

    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    stmt = select(model).where(model.id == ident).filter_by(**filters)  # type: ignore[attr-defined]
    if options:
        stmt = stmt.options(*options)
    obj = db.session.execute(stmt).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.execution_options.get(ALL_TENANTS, False):
        return
    tid = current_tenant_id() or _NO_TENANT
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tid,
            include_aliases=True,
            track_closure_variables=True,
        )
    )


def _guard_writes(session: Session, flush_context, instances) -> None:
    tid = current_tenant_id()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tid is not None:
                obj.tenant_id = tid
            elif not obj.__allow_platform_rows__:
                raise CrossTenantWrite(f"new {type(obj).__name__} outside any tenant scope")
        elif tid is not None and obj.tenant_id != tid:
            raise CrossTenantWrite(f"new {type(obj).__name__} for tenant {obj.tenant_id} in {tid}")
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, TenantScoped) and tid is not None and obj.tenant_id != tid:
            raise CrossTenantWrite(
                f"write to {type(obj).__name__}#{getattr(obj, 'id', '?')} of tenant "
                f"{obj.tenant_id} while in tenant {tid}"
            )


def install_listeners() -> None:
    """Attach the filter and guard to every SQLAlchemy session (idempotent)."""
    if not event.contains(Session, "do_orm_execute", _add_tenant_criteria):
        event.listen(Session, "do_orm_execute", _add_tenant_criteria)
        event.listen(Session, "before_flush", _guard_writes)
