"""Mail delivery through a failing SMTP server: every attempt is counted (even though the send
rolls back), a message that keeps failing stops after MAIL_MAX_ATTEMPTS and shows as failed."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from accreditor.core.db import commit, utcnow
from accreditor.core.jobs import FailedJob
from accreditor.core.mail import OutboxMessage, deliver_mail, delivery_status, resend_unsent_mail
from accreditor.extensions import db
from tests.auth.helpers import table_row
from tests.factories import create_platform_admin


class RefusingSMTP:
    """An SMTP server that is down: every connection is refused."""

    calls = 0

    def __init__(self, *args, **kwargs):
        type(self).calls += 1
        raise ConnectionRefusedError(111, "Connection refused")


class FlakySMTP:
    """Refuses the first connection, then accepts and records what it is given."""

    calls = 0
    sent: list = []

    def __init__(self, *args, **kwargs):
        type(self).calls += 1
        if type(self).calls == 1:
            raise ConnectionRefusedError(111, "Connection refused")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, email):
        type(self).sent.append(email["To"])


@pytest.fixture
def smtp_backend(app, monkeypatch):
    """``smtp_backend(cls)``: deliver through ``cls`` instead of a real SMTP connection."""

    def _use(cls):
        cls.calls = 0
        if hasattr(cls, "sent"):
            cls.sent = []
        monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
        monkeypatch.setitem(app.config, "JOBS_RAISE", False)  # as outside tests
        monkeypatch.setitem(app.config, "JOBS_MAX_ATTEMPTS", 3)
        monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 10)
        monkeypatch.setattr(smtplib, "SMTP", cls)
        return cls

    return _use


def message(to: str) -> OutboxMessage:
    db.session.expire_all()
    return db.session.execute(select(OutboxMessage).where(OutboxMessage.to == to)).scalar_one()


def age(msg: OutboxMessage, minutes: int = 11) -> None:
    """Pretend the message was stored ``minutes`` ago (resend_unsent_mail waits 10)."""
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == msg.id)
                       .values(created_at=utcnow() - timedelta(minutes=minutes)))
    commit()


def ask_for_reset(client, email: str):
    resp = client.post("/password/forgot", data={"email": email})
    assert resp.status_code == 302, "a failing mail server never fails the request"
    return message(email)


def test_failed_sends_are_counted_although_the_send_rolls_back(client, admin_a, smtp_backend):
    smtp = smtp_backend(RefusingSMTP)
    msg = ask_for_reset(client, admin_a.email)
    assert smtp.calls == 3  # one run, two in-process retries
    assert msg.attempts == 3
    assert msg.sent_at is None
    assert delivery_status(msg) == "pending"
    [failed] = db.session.execute(select(FailedJob)).scalars().all()
    assert failed.func == "accreditor.core.mail.deliver_mail"
    assert "Connection refused" in failed.error


def test_a_message_that_always_fails_stops_at_the_cap_and_is_marked_failed(
    client, admin_a, smtp_backend, login_as
):
    smtp = smtp_backend(RefusingSMTP)
    msg = ask_for_reset(client, admin_a.email)
    age(msg)
    assert resend_unsent_mail() == 1
    assert resend_unsent_mail() == 1
    assert message(admin_a.email).attempts == 9
    assert resend_unsent_mail() == 1  # the 10th attempt fails; the retries give up at once
    msg = message(admin_a.email)
    assert (msg.attempts, smtp.calls) == (10, 10)
    assert delivery_status(msg) == "failed"

    assert resend_unsent_mail() == 0, "a failed message is not queued again"
    deliver_mail(msg.id)  # even a stray job does not try again
    assert smtp.calls == 10
    assert message(admin_a.email).sent_at is None

    login_as(create_platform_admin())
    row = table_row(client.get("/admin/outbox"), admin_a.email)
    assert "failed after 10 attempts; not tried again" in row
    page = client.get(f"/admin/outbox/{msg.id}").get_data(as_text=True)
    assert "after 10 attempts; not tried again" in page


def test_the_cap_is_a_setting(client, admin_a, smtp_backend, app, monkeypatch):
    smtp = smtp_backend(RefusingSMTP)
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 2)
    msg = ask_for_reset(client, admin_a.email)
    assert (msg.attempts, smtp.calls) == (2, 2)
    assert delivery_status(msg) == "failed"
    age(msg)
    assert resend_unsent_mail() == 0


def test_a_message_that_fails_once_is_sent_once_on_the_retry(client, admin_a, smtp_backend,
                                                             login_as):
    smtp = smtp_backend(FlakySMTP)
    msg = ask_for_reset(client, admin_a.email)
    assert smtp.sent == [admin_a.email]
    assert msg.attempts == 2
    assert msg.sent_at is not None
    assert delivery_status(msg) == "sent"
    age(msg)
    assert resend_unsent_mail() == 0
    deliver_mail(msg.id)
    assert smtp.sent == [admin_a.email], "a delivered message is never sent again"


def test_pending_messages_show_their_attempts_in_the_outbox(client, admin_a, smtp_backend,
                                                            login_as):
    smtp_backend(RefusingSMTP)
    ask_for_reset(client, admin_a.email)
    login_as(create_platform_admin())
    row = table_row(client.get("/admin/outbox"), admin_a.email)
    assert "pending, 3 attempt(s) so far" in row
