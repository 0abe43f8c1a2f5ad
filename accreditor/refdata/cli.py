"""``flask refdata load``: seed or update the platform reference lists (idempotent)."""

import click
from flask.cli import AppGroup

from accreditor.core.db import commit
from accreditor.refdata.services import load_platform_refdata

refdata_cli = AppGroup("refdata", help="Reference data (programmes, standards, code lists).")


@refdata_cli.command("load")
def load():
    """Create or update the platform lists; tenant additions are left alone."""
    created = load_platform_refdata()
    commit()
    total = sum(created.values())
    click.echo(f"reference data loaded ({total} new rows: "
               + ", ".join(f"{k} {v}" for k, v in sorted(created.items()) if v) + ")")
