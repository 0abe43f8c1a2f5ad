"""``flask directory export [--tenant slug]``: write the open-data files now (after a deploy,
or to fill them the first time), then the global ones. Registered on ``directory_cli``."""

import click
from sqlalchemy import select

from accreditor.directory import exports
from accreditor.extensions import db
from accreditor.tenants.models import Tenant


@click.command("export")
@click.option("--tenant", "slug", default=None, help="Only this AB's files (and the global ones).")
def export_command(slug: str | None):
    """Write the CSV and JSON Lines files of every active AB's directory, each AB on its own
    (one that fails is reported, the others are written), then the global files (whatever
    DIRECTORY_EXPORTS says)."""
    stmt = select(Tenant.id).where(Tenant.is_active).order_by(Tenant.slug)
    if slug:
        stmt = stmt.where(Tenant.slug == slug)
    ids = db.session.execute(stmt).scalars().all()
    if slug and not ids:
        raise click.ClickException(f"no active tenant {slug!r}")
    def write(tenant) -> str:
        return ", ".join(f"{rec.filename} {rec.rows} rows {rec.size} bytes"
                         for rec in exports.write_tenant_files(tenant).values())

    done, failed = exports.each_ab("open-data export", ids, write)
    for name, line in done:
        click.echo(f"{name}: {line}")
    files = exports.write_global_files(force=True)
    click.echo("global: " + ", ".join(
        f"{exports.FILENAMES[fmt]} {info['rows']} rows {info['size']} bytes"
        for fmt, info in files.items()))
    if failed:
        raise click.ClickException(f"failed for {', '.join(failed)} (see the log)")
