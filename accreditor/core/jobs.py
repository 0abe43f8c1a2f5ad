"""Background jobs: queued in the session, dispatched only after a successful commit.

* :func:`enqueue_after_commit` collects work on the current session; a rollback drops it.
* With ``REDIS_URL`` set, committed work goes to RQ (queues ``default`` and ``mail``) with
  retries and backoff; ``flask jobs worker`` (or ``rq worker``) runs it. If Redis refuses a job
  after the commit, nothing is raised (the change is saved): mail waits for
  ``resend_unsent_mail``, other jobs are logged and recorded in ``failed_jobs``.
* Without Redis (the embedded default) the same functions run in-process right after the
  commit (:func:`accreditor.core.db.commit`, or at the end of the request), each in a fresh app
  context; failures are retried, then recorded in ``failed_jobs`` for platform admins.

Job functions are decorated with :func:`job`: they take ids, never ORM objects, and the
decorator gives them their own app context and commit. They must be idempotent (RQ delivers at
least once).
"""

from __future__ import annotations

import functools
import importlib
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import JSON, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from accreditor.core.db import Base, utcnow

log = logging.getLogger(__name__)

QUEUES = ("default", "mail")
PENDING_KEY = "accreditor.pending_jobs"


class FailedJob(Base):
    """An in-process job that failed after its retries (RQ keeps its own failed registry)."""

    __tablename__ = "failed_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    func: Mapped[str] = mapped_column(String(200))
    args: Mapped[list] = mapped_column(JSON, default=list)
    queue: Mapped[str] = mapped_column(String(40))
    attempts: Mapped[int]
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass
class JobSpec:
    path: str
    args: tuple
    queue: str = "default"
    job_id: str | None = None
    kwargs: dict = field(default_factory=dict)


def _path(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def _resolve(path: str) -> Callable:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def enqueue_after_commit(
    func: Callable, *args: Any, queue: str = "default", job_id: str | None = None, **kwargs: Any
) -> None:
    """Run ``func(*args)`` after the current transaction commits; nothing if it rolls back."""
    from accreditor.extensions import db

    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    spec = JobSpec(_path(func), args, queue, job_id, kwargs)
    db.session().info.setdefault(PENDING_KEY, []).append(spec)


# -- dispatch ---------------------------------------------------------------------------------


def _ready_list() -> list[JobSpec]:
    if "_ready_jobs" not in g:
        g._ready_jobs = []
    return g._ready_jobs


def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if not pending or not has_app_context():
        return
    if current_app.config.get("REDIS_URL"):
        for spec in pending:
            try:
                _enqueue_rq(spec)
            except Exception as exc:  # the change is committed: never a 500 for it
                _not_queued(spec, exc)
    else:
        _ready_list().extend(pending)


def _not_queued(spec: JobSpec, exc: Exception) -> None:
    """Redis refused a job after its transaction committed (Redis down, full, unreachable).

    Raising here would show the user a 500 page for a change that *was* saved. Mail is left
    unsent: ``resend_unsent_mail`` queues it again at a later tick. Any other job is logged as an
    error and recorded in ``failed_jobs`` (``/admin/jobs``) once the request's commit is done.
    """
    if spec.queue == "mail":
        log.warning("could not queue %s%r after commit (%s: %s); the message stays unsent and "
                    "resend_unsent_mail will queue it again", spec.path, spec.args,
                    type(exc).__name__, exc)
        return
    log.error("job %s%r was NOT queued after commit and will not run (%s: %s); recorded in "
              "failed_jobs", spec.path, spec.args, type(exc).__name__, exc)
    if "_unqueued_jobs" not in g:
        g._unqueued_jobs = []
    g._unqueued_jobs.append((spec, exc))


def _after_rollback(session: Session) -> None:
    # after_rollback fires for the session's real rollback (not for nested savepoints).
    session.info.pop(PENDING_KEY, None)


def install_listeners() -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def run_ready_jobs() -> None:
    """After a commit: record jobs Redis refused (see :func:`_not_queued`), then run, in this
    process, the jobs whose transaction has committed (no-Redis mode)."""
    if not has_app_context():
        return
    app = current_app._get_current_object()
    unqueued = g.pop("_unqueued_jobs", None)
    for spec, exc in unqueued or ():
        try:
            _record_failure(app, spec, 0, exc, note="Not queued after commit (Redis refused it).")
        except Exception:  # the database too: the log line above is all there is
            log.exception("could not record the unqueued job %s", spec.path)
    ready = g.get("_ready_jobs")
    while ready:
        spec = ready.pop(0)
        _run_inprocess(app, spec)


def _run_inprocess(app: Flask, spec: JobSpec) -> None:
    attempts = max(1, int(app.config.get("JOBS_MAX_ATTEMPTS", 3)))
    func = _resolve(spec.path)
    for attempt in range(1, attempts + 1):
        try:
            with app.app_context():
                func(*spec.args, **spec.kwargs)
            return
        except Exception as exc:
            log.warning("job %s failed (attempt %d/%d): %s", spec.path, attempt, attempts, exc)
            if attempt < attempts:
                continue
            _record_failure(app, spec, attempts, exc)
            if app.config.get("JOBS_RAISE"):
                raise


def _record_failure(app: Flask, spec: JobSpec, attempts: int, exc: Exception,
                    note: str = "") -> None:
    from accreditor.extensions import db

    with app.app_context():
        db.session.add(
            FailedJob(
                func=spec.path,
                args=[repr(a) for a in spec.args],
                queue=spec.queue,
                attempts=attempts,
                error=((note + "\n") if note else "")
                + "".join(traceback.format_exception(exc))[-8000:],
            )
        )
        db.session.commit()


# -- RQ ---------------------------------------------------------------------------------------


def redis_connection(app: Flask | None = None):
    from redis import Redis

    app = app or current_app
    # A bounded connect: an unreachable Redis must not hang a request after its commit.
    return Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5)


def rq_queue(name: str, app: Flask | None = None):
    from rq import Queue

    return Queue(name, connection=redis_connection(app))


def _enqueue_rq(spec: JobSpec) -> None:
    from rq import Retry

    cfg = current_app.config
    retries = max(0, int(cfg.get("JOBS_MAX_ATTEMPTS", 3)) - 1)
    intervals = list(cfg.get("JOBS_RETRY_INTERVALS", [10, 60, 300]))
    rq_queue(spec.queue).enqueue(
        spec.path,
        *spec.args,
        job_id=spec.job_id,
        retry=Retry(max=retries, interval=intervals) if retries else None,
        job_timeout=cfg.get("JOBS_TIMEOUT", 600),
        failure_ttl=cfg.get("JOBS_FAILURE_TTL", 30 * 24 * 3600),
        result_ttl=cfg.get("JOBS_RESULT_TTL", 24 * 3600),
        **spec.kwargs,
    )


# -- the job decorator --------------------------------------------------------------------------

_worker_app: Flask | None = None


def _job_app() -> Flask:
    """The app a job runs in: the current one, or one created once per worker process."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from accreditor import create_app

        _worker_app = create_app()
    return _worker_app


def job(func: Callable) -> Callable:
    """Give a job function its own app context and unit of work (commit, or rollback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from accreditor.core.db import commit
        from accreditor.extensions import db

        app = _job_app()
        with app.app_context():
            g.actor_label = f"job:{func.__name__}"
            try:
                result = func(*args, **kwargs)
                commit()
                return result
            except Exception:
                db.session.rollback()
                raise

    return wrapper


# -- periodic work ----------------------------------------------------------------------------


def for_each_tenant(label: str, work: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run ``work()`` inside each active tenant, committing each tenant on its own: a tenant
    whose work fails is rolled back and logged, the others still run, and a RuntimeError naming
    the failed tenants is raised once all had their turn (so the job is retried). Returns
    ``(slug, work's result)`` for each tenant that succeeded."""
    from sqlalchemy import select

    from accreditor.core.db import commit
    from accreditor.core.tenancy import tenant_scope
    from accreditor.extensions import db
    from accreditor.tenants.models import Tenant

    ids = db.session.execute(select(Tenant.id).where(Tenant.is_active).order_by(Tenant.id)
                             ).scalars().all()
    done, failed = [], []
    for tenant_id in ids:
        tenant = db.session.execute(select(Tenant).where(Tenant.id == tenant_id)).scalar_one()
        slug = tenant.slug
        try:
            with tenant_scope(tenant):
                result = work()
            commit()
        except Exception:
            db.session.rollback()
            log.exception("%s failed for tenant %s", label, slug)
            failed.append(slug)
            continue
        done.append((slug, result))
    if failed:
        raise RuntimeError(f"{label} failed for tenant(s) {', '.join(failed)}")
    return done

PERIODIC: list[Callable] = []


def periodic(func: Callable) -> Callable:
    """Register a job for ``flask jobs tick`` (run from cron or RQ's scheduler; idempotent)."""
    PERIODIC.append(func)
    return func


def failed_rq_jobs(limit: int = 50) -> list[dict]:
    """Failed RQ jobs of every queue, newest first (for the platform admin page)."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    conn = redis_connection()
    out: list[dict] = []
    for name in QUEUES:
        registry = FailedJobRegistry(name, connection=conn)
        for job_id in registry.get_job_ids(0, limit - 1):
            job_ = Job.fetch(job_id, connection=conn)
            out.append(
                {
                    "id": job_id,
                    "queue": name,
                    "func": job_.func_name,
                    "ended_at": job_.ended_at,
                    "error": (job_.latest_result().exc_string if job_.latest_result() else "")[-2000:],
                }
            )
    return out
