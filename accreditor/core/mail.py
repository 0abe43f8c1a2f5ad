"""Outgoing e-mail through an outbox table and the ``mail`` queue.

:func:`send_mail` renders the plain-text and HTML bodies now (inside the request), stores an
:class:`OutboxMessage` in the caller's transaction and queues :func:`deliver_mail` after commit.
Delivery is idempotent: a message already sent is not sent again. Every attempt is counted
(committed before the send), and after ``MAIL_MAX_ATTEMPTS`` an unsent message is *failed*:
shown so at ``/admin/outbox`` and never queued again. With ``MAIL_BACKEND=outbox``
(development, tests, demos) delivery only marks the message delivered and logs it; platform
admins read the outbox at ``/admin/outbox``. ``MAIL_BACKEND=smtp`` sends through ``MAIL_SERVER``.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage

from flask import current_app, g, render_template
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from accreditor.core.db import Base, utcnow
from accreditor.core.jobs import enqueue_after_commit, job, periodic

log = logging.getLogger(__name__)


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_slug: Mapped[str | None] = mapped_column(String(40))
    to: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)


def send_mail(to: str, subject: str, template: str, **context) -> OutboxMessage:
    """Queue ``templates/mail/<template>.txt`` and ``.html`` to ``to`` after commit."""
    from accreditor.extensions import db

    tenant = g.get("tenant")
    context.setdefault("tenant", tenant)
    context.setdefault("subject", subject)
    msg = OutboxMessage(
        tenant_slug=tenant.slug if tenant is not None else None,
        to=to,
        subject=subject,
        text_body=render_template(f"mail/{template}.txt", **context),
        html_body=render_template(f"mail/{template}.html", **context),
    )
    db.session.add(msg)
    db.session.flush()
    enqueue_after_commit(deliver_mail, msg.id, queue="mail", job_id=f"mail-{msg.id}")
    return msg


def _locked(message_id: int) -> OutboxMessage | None:
    from accreditor.extensions import db

    return db.session.execute(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    ).scalar_one_or_none()


def mail_max_attempts() -> int:
    return max(1, int(current_app.config.get("MAIL_MAX_ATTEMPTS", 10)))


def delivery_status(msg: OutboxMessage) -> str:
    """``sent``, ``failed`` (unsent after ``MAIL_MAX_ATTEMPTS`` attempts: never tried again) or
    ``pending``."""
    if msg.sent_at is not None:
        return "sent"
    return "failed" if msg.attempts >= mail_max_attempts() else "pending"


def _send(msg: OutboxMessage) -> None:
    cfg = current_app.config
    if cfg["MAIL_BACKEND"] == "smtp":
        email = EmailMessage()
        email["From"] = cfg["MAIL_FROM"]
        email["To"] = msg.to
        email["Subject"] = msg.subject
        email.set_content(msg.text_body)
        email.add_alternative(msg.html_body, subtype="html")
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(email)
    else:
        log.info("mail to %s: %s (outbox #%d)", msg.to, msg.subject, msg.id)


@job
def deliver_mail(message_id: int) -> None:
    """Send one message once. The attempt is counted and committed *before* sending, so a send
    that fails (and rolls back) still uses one up; after ``MAIL_MAX_ATTEMPTS`` the message is
    failed and neither sent nor queued again."""
    from accreditor.extensions import db

    cap = mail_max_attempts()
    msg = _locked(message_id)
    if msg is None or msg.sent_at is not None:
        return
    if msg.attempts >= cap:
        log.warning("mail #%d to %s not sent: it failed %d times (MAIL_MAX_ATTEMPTS); see "
                    "/admin/outbox", msg.id, msg.to, msg.attempts)
        return
    msg.attempts += 1
    attempt = msg.attempts
    db.session.commit()
    # Lock again for the send: a concurrent delivery of the same message either stamped
    # sent_at already (seen here) or waits for this transaction and then sees it.
    msg = _locked(message_id)
    if msg is None or msg.sent_at is not None:
        return
    try:
        _send(msg)
    except Exception as exc:
        if attempt >= cap:
            log.error("mail #%d to %s failed %d times and is marked failed (last error: %s)",
                      message_id, msg.to, attempt, exc)
        raise
    msg.sent_at = utcnow()


@periodic
@job
def resend_unsent_mail(older_than_minutes: int = 10) -> int:
    """Queue again the messages still unsent after a while (Redis was down at commit, a worker
    died, SMTP failed), except failed ones (``MAIL_MAX_ATTEMPTS`` reached). Delivery is
    idempotent, so a delivered message is not sent again."""
    from datetime import timedelta

    from accreditor.extensions import db

    cap = mail_max_attempts()
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    ids = db.session.execute(
        select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None),
                                       OutboxMessage.created_at < cutoff,
                                       OutboxMessage.attempts < cap)
        .order_by(OutboxMessage.id).limit(500)
    ).scalars().all()
    for message_id in ids:
        enqueue_after_commit(deliver_mail, message_id, queue="mail", job_id=f"mail-{message_id}")
    return len(ids)
