"""Jobs: nothing runs before commit, nothing after rollback; in-process retries; RQ end to end."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.jobs import FailedJob, enqueue_after_commit
from accreditor.extensions import db
from accreditor.tenants.models import Tenant
from tests.core import jobs_fixtures


@pytest.fixture(autouse=True)
def _clear_calls():
    jobs_fixtures.CALLS.clear()


def _tenant_name(tenant_id: int) -> str:
    db.session.expire_all()
    return db.session.execute(select(Tenant.name).where(Tenant.id == tenant_id)).scalar_one()


def test_a_job_runs_only_after_the_commit(tenant_a):
    enqueue_after_commit(jobs_fixtures.rename_tenant, tenant_a.id, "Renamed by job")
    db.session.flush()
    assert jobs_fixtures.CALLS == []
    commit()
    assert jobs_fixtures.CALLS == [("rename_tenant", tenant_a.id, "Renamed by job")]
    assert _tenant_name(tenant_a.id) == "Renamed by job"


def test_a_rolled_back_transaction_drops_its_jobs(tenant_a):
    enqueue_after_commit(jobs_fixtures.rename_tenant, tenant_a.id, "Never")
    db.session.rollback()
    commit()
    assert jobs_fixtures.CALLS == []
    assert _tenant_name(tenant_a.id) != "Never"


def test_unknown_queue_is_refused(tenant_a):
    with pytest.raises(ValueError, match="unknown queue"):
        enqueue_after_commit(jobs_fixtures.rename_tenant, tenant_a.id, "x", queue="nope")


def test_a_failing_in_process_job_is_retried_then_recorded(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_RAISE", False)
    monkeypatch.setitem(app.config, "JOBS_MAX_ATTEMPTS", 3)
    enqueue_after_commit(jobs_fixtures.always_fails, "k")
    commit()
    assert [c[0] for c in jobs_fixtures.CALLS] == ["always_fails"] * 3
    failed = db.session.execute(select(FailedJob)).scalars().all()
    assert len(failed) == 1
    assert failed[0].func == "tests.core.jobs_fixtures.always_fails"
    assert failed[0].attempts == 3
    assert "this job always fails" in failed[0].error


def test_failed_in_process_jobs_are_listed_for_platform_admins(app, client, monkeypatch, login_as):
    from tests.factories import create_platform_admin

    monkeypatch.setitem(app.config, "JOBS_RAISE", False)
    monkeypatch.setitem(app.config, "JOBS_MAX_ATTEMPTS", 1)
    enqueue_after_commit(jobs_fixtures.always_fails, "k")
    commit()
    login_as(create_platform_admin())
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "tests.core.jobs_fixtures.always_fails" in page
    assert "this job always fails" in page


# -- Redis refusing a job after the commit ------------------------------------------------------


@pytest.fixture
def redis_down(app, monkeypatch):
    """Jobs go to Redis, which refuses every enqueue (down, out of memory, unreachable)."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from accreditor.core import jobs

    def refuse(spec):
        raise RedisConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setitem(app.config, "REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setattr(jobs, "_enqueue_rq", refuse)


@pytest.fixture
def job_log(caplog):
    """Records of the ``accreditor.core.jobs`` logger (the app's loggers do not propagate)."""
    import logging

    logger = logging.getLogger("accreditor.core.jobs")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_redis_refusing_mail_after_commit_still_answers_and_the_tick_sends_it_later(
    app, client, admin_a, outbox, redis_down, job_log, monkeypatch
):
    from datetime import timedelta

    from sqlalchemy import update

    from accreditor.core.db import utcnow
    from accreditor.core.mail import OutboxMessage, resend_unsent_mail
    from tests.auth.helpers import audit_events, flashes

    resp = client.post("/password/forgot", data={"email": admin_a.email}, follow_redirects=True)
    assert resp.status_code == 200
    assert flashes(resp)[0].startswith("If an account exists for that address")
    assert audit_events("auth.password_reset_requested"), "the change was committed"
    [msg] = outbox(admin_a.email)
    assert (msg.sent_at, msg.attempts) == (None, 0)
    assert "resend_unsent_mail will queue it again" in job_log.text
    assert db.session.execute(select(FailedJob)).scalars().all() == []

    # Redis is back (here: jobs in-process). The next tick after 10 minutes queues the message.
    monkeypatch.undo()
    assert resend_unsent_mail() == 0, "younger than 10 minutes"
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == msg.id)
                       .values(created_at=utcnow() - timedelta(minutes=11)))
    commit()
    assert resend_unsent_mail() == 1
    db.session.expire_all()
    [msg] = outbox(admin_a.email)
    assert msg.sent_at is not None
    assert msg.attempts == 1


def test_redis_refusing_another_job_after_commit_is_logged_and_recorded(
    client, tenant_a, redis_down, job_log, login_as
):
    from tests.factories import create_platform_admin

    tenant_a.name = "Renamed by the request"
    enqueue_after_commit(jobs_fixtures.rename_tenant, tenant_a.id, "Renamed by the job")
    commit()  # does not raise: the change is saved
    assert _tenant_name(tenant_a.id) == "Renamed by the request"
    assert jobs_fixtures.CALLS == []
    assert "was NOT queued after commit and will not run" in job_log.text
    [failed] = db.session.execute(select(FailedJob)).scalars().all()
    assert failed.func == "tests.core.jobs_fixtures.rename_tenant"
    assert failed.attempts == 0
    assert failed.error.startswith("Not queued after commit (Redis refused it).")
    assert "Connection refused" in failed.error

    login_as(create_platform_admin())
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "tests.core.jobs_fixtures.rename_tenant" in page
    assert "Not queued after commit" in page


# -- real Redis + RQ ----------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL not set (CI sets it)")


@pytest.fixture
def rq_app(app, monkeypatch):
    """The test app with jobs going to a real Redis; the test Redis database is emptied first."""
    from redis import Redis

    conn = Redis.from_url(REDIS_URL)
    conn.ping()  # unreachable Redis with REDIS_URL set is a failure, not a skip
    conn.flushdb()
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "JOBS_RETRY_INTERVALS", [0])
    yield app
    conn.flushdb()


def _burst(*queues: str) -> None:
    """Run a burst worker in this process (a forking worker would not share the test's
    uncommitted transaction; production uses `flask jobs worker`, which forks)."""
    from rq import SimpleWorker

    from accreditor.core.jobs import redis_connection

    SimpleWorker(list(queues), connection=redis_connection()).work(burst=True)


@needs_redis
@pytest.mark.redis
def test_a_request_enqueues_mail_that_a_burst_worker_delivers(rq_app, client, admin_a, outbox):
    from rq import Queue

    from accreditor.core.jobs import redis_connection

    resp = client.post("/password/forgot", data={"email": admin_a.email})
    assert resp.status_code == 302
    [msg] = outbox(admin_a.email)
    assert msg.sent_at is None, "nothing is delivered before a worker runs"
    queue = Queue("mail", connection=redis_connection())
    assert queue.job_ids == [f"mail-{msg.id}"]

    _burst("mail")

    db.session.expire_all()
    [msg] = outbox(admin_a.email)
    assert msg.sent_at is not None
    assert msg.attempts == 1
    assert Queue("mail", connection=redis_connection()).count == 0


@needs_redis
@pytest.mark.redis
def test_a_failing_rq_job_is_retried_then_lands_in_the_failed_registry(rq_app, client, login_as):
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    from accreditor.core.jobs import redis_connection
    from tests.factories import create_platform_admin

    rq_app.config["JOBS_MAX_ATTEMPTS"] = 3
    enqueue_after_commit(jobs_fixtures.always_fails, "attempts", job_id="always-fails-1")
    commit()
    conn = redis_connection()
    _burst("default")

    assert int(conn.get("attempts")) == 3, "one run and two retries"
    registry = FailedJobRegistry("default", connection=conn)
    assert registry.get_job_ids() == ["always-fails-1"]
    job = Job.fetch("always-fails-1", connection=conn)
    assert job.retries_left == 0
    assert "this job always fails" in job.latest_result().exc_string

    login_as(create_platform_admin())
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "always-fails-1" in page
    assert "this job always fails" in page


@needs_redis
@pytest.mark.redis
def test_a_failing_mail_send_through_rq_counts_every_attempt(rq_app, client, admin_a, outbox,
                                                             monkeypatch):
    import smtplib

    calls = []

    def refusing_smtp(*args, **kwargs):
        calls.append(args)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setitem(rq_app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(rq_app.config, "JOBS_MAX_ATTEMPTS", 3)
    monkeypatch.setattr(smtplib, "SMTP", refusing_smtp)
    assert client.post("/password/forgot", data={"email": admin_a.email}).status_code == 302
    _burst("mail")

    db.session.expire_all()
    [msg] = outbox(admin_a.email)
    assert len(calls) == 3, "one run and two RQ retries"
    assert (msg.attempts, msg.sent_at) == (3, None)
