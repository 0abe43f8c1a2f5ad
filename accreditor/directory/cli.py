"""``flask directory rebuild [--tenant slug]``: republish every accreditation (idempotent), then
rebuild the search index of each tenant."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.directory import search, services
from accreditor.directory.export_cli import export_command
from accreditor.extensions import db
from accreditor.tenants.models import Tenant

directory_cli = AppGroup("directory", help="The public directory (the published projection).")
directory_cli.add_command(export_command)


@directory_cli.command("rebuild")
@click.option("--tenant", "slug", default=None, help="Only this tenant (its slug).")
def rebuild(slug: str | None):
    """Republish every accreditation from its current state; entries that would not change are
    left alone, incomplete ones (rule 26) keep their older entry."""
    stmt = select(Tenant).order_by(Tenant.slug)
    if slug:
        stmt = stmt.where(Tenant.slug == slug)
    tenants = db.session.execute(stmt).scalars().all()
    if slug and not tenants:
        raise click.ClickException(f"no tenant {slug!r}")
    for tenant in tenants:
        with tenant_scope(tenant):
            counts = services.rebuild()
            commit()
            # The search index from the entries as they now are (set-based, every entry).
            search.rebuild_index(tenant_id=tenant.id)
            commit()
        click.echo(f"{tenant.slug}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
