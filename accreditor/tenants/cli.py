"""``flask tenants …`` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.errors import DomainError
from accreditor.extensions import db
from accreditor.tenants import services
from accreditor.tenants.models import Tenant

tenants_cli = AppGroup("tenants", help="Manage tenants (accreditation bodies).")


@tenants_cli.command("create")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--country", required=True, help="ISO 3166 alpha-2 code")
@click.option("--locale", "default_locale", default="en", show_default=True)
@click.option("--admin-email", default=None, help="Invite this person as the first AB admin")
@click.option("--admin-name", default=None)
def create(slug, name, country, default_locale, admin_email, admin_name):
    """Create a tenant (and invite its first administrator)."""
    try:
        tenant = services.create_tenant(slug=slug, name=name, country=country,
                                        default_locale=default_locale,
                                        admin_email=admin_email, admin_name=admin_name)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    commit()
    click.echo(f"created tenant {tenant.slug} (id {tenant.id})")


@tenants_cli.command("list")
def list_():
    """List tenants."""
    for t in db.session.execute(select(Tenant).order_by(Tenant.slug)).scalars():
        click.echo(f"{t.id}\t{t.slug}\t{t.country}\t{'active' if t.is_active else 'inactive'}\t{t.name}")
