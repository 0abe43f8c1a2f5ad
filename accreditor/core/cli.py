"""``flask audit …`` and ``flask jobs …`` commands."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from accreditor.core import jobs
from accreditor.core.audit import verify_chain
from accreditor.extensions import db

audit_cli = AppGroup("audit", help="Audit trail tools.")
jobs_cli = AppGroup("jobs", help="Background jobs.")


@audit_cli.command("verify")
@click.option("--tenant", "slug", default=None, help="Only this tenant (default: all chains)")
def verify(slug):
    """Recompute the hash chains; exit 1 naming the first broken event."""
    from accreditor.tenants.models import Tenant

    if slug:
        tenant = db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
        if tenant is None:
            raise click.ClickException(f"no tenant {slug!r}")
        chains = [(tenant.id, tenant.slug)]
    else:
        chains = [(None, "platform")] + [
            (t.id, t.slug) for t in db.session.execute(select(Tenant).order_by(Tenant.id)).scalars()
        ]
    broken = False
    for tid, label in chains:
        report = verify_chain(tid)
        if report.ok:
            click.echo(f"{label}: ok ({report.checked} events)")
        else:
            broken = True
            click.echo(
                f"{label}: BROKEN at event id {report.broken_event_id} (seq {report.broken_seq}): "
                f"{report.reason}; {report.checked} events before it are intact",
                err=True,
            )
    sys.exit(1 if broken else 0)


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty")
@click.option("--queue", "queues", multiple=True, default=jobs.QUEUES, show_default=True)
def worker(burst, queues):
    """Run an RQ worker (with the scheduler, for retries with backoff) inside the app."""
    from rq import Worker

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run in-process, no worker needed.")
    db.session.remove()
    db.engine.dispose()  # forked work horses must not share the parent's connections
    cfg = current_app.config
    w = Worker(list(queues), connection=jobs.redis_connection(),
               worker_ttl=cfg["WORKER_TTL"], maintenance_interval=cfg["WORKER_MAINTENANCE_INTERVAL"])
    w.work(burst=burst, with_scheduler=True)


@jobs_cli.command("tick")
def tick():
    """Queue every periodic job once (run from cron, e.g. every 15 minutes; jobs are idempotent)."""
    from accreditor.core.db import commit

    for func in jobs.PERIODIC:
        jobs.enqueue_after_commit(func)
        click.echo(f"queued {func.__module__}.{func.__name__}")
    commit()


users_cli = AppGroup("users", help="Platform accounts.")


@users_cli.command("create-platform-admin")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.password_option(help="At least 12 characters; prompted (twice) when omitted.")
def create_platform_admin(email, name, password):
    """Create the first platform admin (or make an existing account one)."""
    from accreditor.auth.models import User, normalise_email
    from accreditor.auth.passwords import hash_password, password_problems
    from accreditor.core import audit
    from accreditor.core.db import commit, utcnow

    email = normalise_email(email)
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    problems = password_problems(password, user_inputs=(email, name))
    if problems:
        raise click.ClickException(problems[0])
    if user is None:
        user = User(email=email, name=name)
        db.session.add(user)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.is_platform_admin = True
    user.rotate_session_token()
    db.session.flush()
    audit.record("user.platform_admin_set", user, platform=True,
                 changes={"is_platform_admin": [None, True]})
    commit()
    click.echo(f"{email} is a platform admin")
