"""Outgoing e-mail through an outbox table and the ``mail`` queue.

:func:`send_mail` renders the plain-text and HTML bodies now (inside the request), stores an
:class:`OutboxMessage` in the caller's transaction and queues :func:`deliver_mail` after commit.
Delivery is idempotent: a message already sent is not sent again. With ``MAIL_BACKEND=outbox``
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


@job
def deliver_mail(message_id: int) -> None:
    from accreditor.extensions import db

    msg = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    ).scalar_one_or_none()
    if msg is None or msg.sent_at is not None:
        return
    msg.attempts += 1
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
    msg.sent_at = utcnow()


@periodic
@job
def resend_unsent_mail(older_than_minutes: int = 10, max_attempts: int = 10) -> int:
    """Queue again the messages still unsent after a while (Redis was down at commit, a worker
    died, SMTP failed). Delivery is idempotent, so a message is never sent twice."""
    from datetime import timedelta

    from accreditor.extensions import db

    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    ids = db.session.execute(
        select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None),
                                       OutboxMessage.created_at < cutoff,
                                       OutboxMessage.attempts < max_attempts)
        .order_by(OutboxMessage.id).limit(500)
    ).scalars().all()
    for message_id in ids:
        enqueue_after_commit(deliver_mail, message_id, queue="mail", job_id=f"mail-{message_id}")
    return len(ids)
