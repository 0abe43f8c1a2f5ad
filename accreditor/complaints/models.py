"""Complaints about an accredited CAB or about the AB itself (17011 7.13, rule 25).

A complaint carries its complainant's personal data (name, e-mail, phone, organisation): staff
handling complaints read it; a CAB user sees a complaint only once it is referred to their CAB,
and the complainant's identity only if the complainant consented to share it. Nothing here is
ever on a public page.

Its thread is :class:`ComplaintEntry` rows: internal notes, updates e-mailed to the complainant,
and one line per step (the audit trail holds the same steps with their before/after values).
:class:`ComplaintNotice` rows make the daily overdue reminders idempotent.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accreditor.core.db import Base, TimestampMixin, utcnow
from accreditor.core.errors import InvalidTransition
from accreditor.core.tenancy import CabScoped, TenantScoped

# Bounds shared by the forms (messages beside the field) and the services (the rule).
TEXT_MAX = 20_000  # what happened, and every other long text
OUTCOME_MAX = 5_000  # what outcome the complainant wants
NAME_MAX = 200
EMAIL_MAX = 320
PHONE_MAX = 40


class ComplaintSubject(StrEnum):
    cab = "cab"  # an accredited CAB
    ab = "ab"  # the accreditation body itself


class Channel(StrEnum):
    web = "web"  # the public form
    email = "email"
    letter = "letter"
    phone = "phone"
    in_person = "in_person"


class ComplaintStatus(StrEnum):
    received = "received"
    acknowledged = "acknowledged"  # validated and taken up by the AB
    referred = "referred"  # sent to the CAB first (rule 25); the CAB answers in the portal
    investigating = "investigating"  # an investigator (staff member) is assigned
    decision_proposed = "decision_proposed"
    decision_approved = "decision_approved"  # by someone not involved (rule 25)
    closed = "closed"  # the formal notice went to the complainant
    rejected = "rejected"  # not a valid complaint (reason, notice sent)
    withdrawn = "withdrawn"  # by the complainant


S = ComplaintStatus
TERMINAL = frozenset({S.closed, S.rejected, S.withdrawn})
OPEN_STATUSES = tuple(s.value for s in S if s not in TERMINAL)

# The transition table: every state change goes through ``Complaint.set_status``.
TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    S.received: frozenset({S.acknowledged, S.rejected, S.withdrawn}),
    S.acknowledged: frozenset({S.referred, S.investigating, S.rejected, S.withdrawn}),
    S.referred: frozenset({S.investigating, S.withdrawn}),
    S.investigating: frozenset({S.decision_proposed, S.withdrawn}),
    # Sent back to the investigation when the approver does not agree
    S.decision_proposed: frozenset({S.decision_approved, S.investigating, S.withdrawn}),
    # The complainant may still withdraw before the formal close notice.
    S.decision_approved: frozenset({S.closed, S.withdrawn}),
    S.closed: frozenset(),
    S.rejected: frozenset(),
    S.withdrawn: frozenset(),
}


class Outcome(StrEnum):
    upheld = "upheld"
    partly_upheld = "partly_upheld"
    not_upheld = "not_upheld"


class Complaint(TenantScoped, CabScoped, TimestampMixin, Base):
    __tablename__ = "complaints"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reference"),
        CheckConstraint("subject IN ('cab', 'ab')", name="subject_known"),
        CheckConstraint("(subject = 'cab') = (cab_id IS NOT NULL)", name="cab_iff_about_cab"),
        CheckConstraint("outcome IS NULL OR outcome IN ('upheld', 'partly_upheld', 'not_upheld')",
                        name="outcome_known"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_at"),
        CheckConstraint("status NOT IN ('rejected') OR rejection_reason IS NOT NULL",
                        name="rejection_has_reason"),
        CheckConstraint("status NOT IN ('decision_approved', 'closed') OR approved_by_id IS NOT NULL",
                        name="approved_by"),
        # Rule 25: a complaint about a CAB reaches an investigation only through the CAB, or
        # with the AB's recorded reason for skipping the referral.
        CheckConstraint("subject = 'ab' OR investigation_started_at IS NULL "
                        "OR referred_at IS NOT NULL OR referral_skipped_reason IS NOT NULL",
                        name="referred_or_reason"),
        CheckConstraint("investigation_started_at IS NULL OR investigator_id IS NOT NULL",
                        name="investigator"),
        Index("ix_complaints_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20))  # C-2026-0007, per tenant and year
    subject: Mapped[str] = mapped_column(String(10))
    # The CAB complained about (None: a complaint about the AB)
    cab_id: Mapped[int | None] = mapped_column(  # type: ignore[assignment]
        ForeignKey("cabs.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.web)
    # The complainant (personal data)
    complainant_name: Mapped[str] = mapped_column(String(NAME_MAX))
    complainant_email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    complainant_phone: Mapped[str | None] = mapped_column(String(PHONE_MAX))
    complainant_organisation: Mapped[str | None] = mapped_column(String(NAME_MAX))
    consent_to_share: Mapped[bool] = mapped_column(Boolean, default=False)
    # The complaint
    what_happened: Mapped[str] = mapped_column(Text)
    event_on: Mapped[date]
    desired_outcome: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=S.received)
    received_on: Mapped[date]
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Due dates, fixed when the step starts (a later policy change does not move them)
    ack_due_on: Mapped[date]
    resolution_due_on: Mapped[date]
    acknowledged_at: Mapped[datetime | None]
    # Referral to the CAB (rule 25)
    referred_at: Mapped[datetime | None]
    cab_response_due_on: Mapped[date | None]
    cab_response: Mapped[str | None] = mapped_column(Text)
    cab_responded_at: Mapped[datetime | None]
    cab_responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    referral_skipped_reason: Mapped[str | None] = mapped_column(Text)
    # Investigation and decision
    investigator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    investigation_started_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    decision_text: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[str | None] = mapped_column(Text)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    withdrawal_note: Mapped[str | None] = mapped_column(Text)

    cab = relationship("Cab", lazy="raise")

    @property
    def status_enum(self) -> ComplaintStatus:
        return ComplaintStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.status_enum not in TERMINAL

    @property
    def about_cab(self) -> bool:
        return self.subject == ComplaintSubject.cab

    def can_move_to(self, new: ComplaintStatus) -> bool:
        return new in TRANSITIONS[self.status_enum]

    def set_status(self, new: ComplaintStatus) -> None:
        """Move along the transition table; anything else is an InvalidTransition (409)."""
        if not self.can_move_to(new):
            raise InvalidTransition(
                f"Complaint {self.reference} is {self.status.replace('_', ' ')}: it cannot "
                f"become {new.value.replace('_', ' ')}.")
        self.status = new.value

    # -- deadlines ------------------------------------------------------------------------------

    def ack_overdue(self, today: date) -> bool:
        return self.status == S.received and self.ack_due_on < today

    def cab_response_overdue(self, today: date) -> bool:
        return (self.status == S.referred and self.cab_responded_at is None
                and self.cab_response_due_on is not None and self.cab_response_due_on < today)

    def resolution_overdue(self, today: date) -> bool:
        return self.is_open and self.resolution_due_on < today

    def overdue_steps(self, today: date) -> list[tuple[str, date]]:
        """(step, due date) of every step late on ``today``."""
        steps = []
        if self.ack_overdue(today):
            steps.append(("acknowledgement", self.ack_due_on))
        if self.cab_response_overdue(today):
            steps.append(("cab_response", self.cab_response_due_on))
        if self.resolution_overdue(today):
            steps.append(("resolution", self.resolution_due_on))
        return steps


class EntryKind(StrEnum):
    note = "note"  # internal: never sent, never shown to the CAB
    update = "update"  # a progress update e-mailed to the complainant
    step = "step"  # a state change (written by the services)


class ComplaintEntry(TenantScoped, Base):
    """One line of a complaint's thread (staff only)."""

    __tablename__ = "complaint_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('note', 'update', 'step')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"),
                                              index=True)
    kind: Mapped[str] = mapped_column(String(10))
    step: Mapped[str | None] = mapped_column(String(30))  # the new status, for kind 'step'
    body: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent: Mapped[bool] = mapped_column(Boolean, default=False)  # e-mailed to the complainant


class ComplaintNotice(TenantScoped, Base):
    """One overdue reminder sent to the handler: unique per complaint, step and due date, so the
    daily job run twice sends nothing twice."""

    __tablename__ = "complaint_notices"
    __table_args__ = (UniqueConstraint("complaint_id", "step", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"),
                                              index=True)
    step: Mapped[str] = mapped_column(String(30))  # acknowledgement / cab_response / resolution
    due_on: Mapped[date]
    sent_on: Mapped[date]
    recipients: Mapped[int] = mapped_column(default=0)
