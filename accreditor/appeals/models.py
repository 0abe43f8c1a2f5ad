"""Appeals against decisions (and nonconformities where the tenant allows), challenges of
nonconformities otherwise (17011 7.13; rules 23, 24).

One row per appeal, whatever its stage. The subject is exactly one of a decision or a finding.
Stage 1: lodged → acknowledged → under review (a handler) → decided (the outcome) → closed.
Stage 2 (an appeal review panel: a chair and two members): from a stage-1 outcome the CAB may
request it (review requested) → panel review (panel appointed) → closed with the panel's
outcome. Before an outcome the CAB may withdraw (withdrawn); a withdrawn appeal cannot be
re-raised on the same subject.

Nothing in an appeal changes the appealed decision or finding: the decision stays in force
(rule 23). An overturned decision is answered by a *new* decision recorded by the decision
makers.
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
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from accreditor.core.db import Base, TimestampMixin, utcnow
from accreditor.core.errors import InvalidTransition
from accreditor.core.tenancy import CabScoped, TenantScoped


class AppealKind(StrEnum):
    appeal = "appeal"
    challenge = "challenge"  # of a nonconformity, where NCs are not appealable (rule 24)


class AppealStatus(StrEnum):
    lodged = "lodged"
    acknowledged = "acknowledged"
    under_review = "under_review"  # a handler investigates
    decided = "decided"  # the stage-1 outcome is given
    review_requested = "review_requested"  # the CAB asked for the panel (stage 2)
    panel_review = "panel_review"  # the panel is appointed
    closed = "closed"
    withdrawn = "withdrawn"


class Outcome(StrEnum):
    """About the appealed decision or nonconformity."""

    upheld = "upheld"  # it stands: the appeal is dismissed
    overturned = "overturned"  # it does not stand: the appeal succeeds
    partly_upheld = "partly_upheld"


S = AppealStatus
TRANSITIONS: dict[AppealStatus, frozenset[AppealStatus]] = {
    S.lodged: frozenset({S.acknowledged, S.withdrawn}),
    S.acknowledged: frozenset({S.under_review, S.withdrawn}),
    S.under_review: frozenset({S.under_review, S.decided, S.withdrawn}),
    S.decided: frozenset({S.closed, S.review_requested}),
    S.review_requested: frozenset({S.panel_review, S.withdrawn}),
    S.panel_review: frozenset({S.closed, S.withdrawn}),
    S.closed: frozenset({S.review_requested}),  # stage 2 within its window, once
    S.withdrawn: frozenset(),
}
# Not finished: at most one of these per subject.
OPEN_STATUSES = tuple(s.value for s in S if s not in (S.closed, S.withdrawn))
# The CAB may still withdraw (before an outcome of the stage in progress).
WITHDRAWABLE = (S.lodged.value, S.acknowledged.value, S.under_review.value,
                S.review_requested.value, S.panel_review.value)
_OPEN_SQL = "status NOT IN ('closed', 'withdrawn')"


class Appeal(TenantScoped, CabScoped, TimestampMixin, Base):
    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "year", "seq"),
        CheckConstraint("(decision_id IS NULL) <> (finding_id IS NULL)", name="one_subject"),
        CheckConstraint("kind IN ('appeal', 'challenge')", name="kind_known"),
        CheckConstraint("kind = 'appeal' OR finding_id IS NOT NULL", name="challenge_of_nc"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)",
                        name="withdrawn_at"),
        CheckConstraint("status = 'lodged' OR status = 'withdrawn' OR acknowledged_at IS NOT NULL",
                        name="acknowledged_at"),
        CheckConstraint("(outcome IS NULL) = (outcome_at IS NULL)", name="outcome_at"),
        CheckConstraint("outcome IS NULL OR outcome_reasons IS NOT NULL",
                        name="outcome_has_reasons"),
        CheckConstraint("status NOT IN ('decided', 'review_requested', 'panel_review') "
                        "OR outcome IS NOT NULL", name="decided_has_outcome"),
        CheckConstraint("(panel_outcome IS NULL) = (panel_decided_at IS NULL)",
                        name="panel_decided_at"),
        # One open appeal per subject (rule 23), also under concurrent lodging.
        Index("uq_appeals_open_decision", "decision_id", unique=True,
              sqlite_where=text(_OPEN_SQL + " AND decision_id IS NOT NULL"),
              postgresql_where=text(_OPEN_SQL + " AND decision_id IS NOT NULL")),
        Index("uq_appeals_open_finding", "finding_id", unique=True,
              sqlite_where=text(_OPEN_SQL + " AND finding_id IS NOT NULL"),
              postgresql_where=text(_OPEN_SQL + " AND finding_id IS NOT NULL")),
        Index("ix_appeals_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"), index=True)
    year: Mapped[int]
    seq: Mapped[int]
    reference: Mapped[str] = mapped_column(String(20))  # "A-2026-0003"
    kind: Mapped[str] = mapped_column(String(20))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"), index=True)
    grounds: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=S.lodged)
    # Lodging: a CAB user, or staff on the CAB's behalf (on_behalf)
    lodged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    on_behalf: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    lodged_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_on: Mapped[date]  # the decision's notification / the finding's issue date
    window_ends_on: Mapped[date]
    # Stage 1
    ack_due_on: Mapped[date]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome_due_on: Mapped[date | None]
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    handler_assigned_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_reasons: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None]
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    # Withdrawal
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    # Stage 2: the appeal review panel
    review_requested_at: Mapped[datetime | None]
    review_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_reason: Mapped[str | None] = mapped_column(Text)
    review_window_ends_on: Mapped[date | None]  # outcome + appeal_second_stage_months
    panel_appointed_at: Mapped[datetime | None]
    panel_outcome: Mapped[str | None] = mapped_column(String(20))
    panel_reasons: Mapped[str | None] = mapped_column(Text)
    panel_decided_at: Mapped[datetime | None]
    panel_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def status_enum(self) -> AppealStatus:
        return AppealStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def subject_type(self) -> str:
        return "decision" if self.decision_id is not None else "finding"

    def set_status(self, new: AppealStatus) -> None:
        if new not in TRANSITIONS[self.status_enum]:
            raise InvalidTransition(f"appeal {self.reference}: {self.status} → {new}")
        self.status = new.value

    def ack_overdue_on(self, today: date) -> bool:
        return self.status == S.lodged and self.ack_due_on < today

    def outcome_overdue_on(self, today: date) -> bool:
        return (self.status in (S.acknowledged, S.under_review)
                and self.outcome_due_on is not None and self.outcome_due_on < today)

    def overdue_on(self, today: date) -> bool:
        return self.ack_overdue_on(today) or self.outcome_overdue_on(today)

    def can_withdraw(self) -> bool:
        return self.status in WITHDRAWABLE

    def can_request_review(self, today: date) -> bool:
        return (self.status in (S.decided, S.closed) and self.review_requested_at is None
                and self.review_window_ends_on is not None and today <= self.review_window_ends_on)


class PanelRole(StrEnum):
    chair = "chair"
    member = "member"


class AppealPanelMember(TenantScoped, CabScoped, Base):
    """A member of an appeal's review panel (stage 2): one chair and two members."""

    __tablename__ = "appeal_panel_members"
    __table_args__ = (
        UniqueConstraint("appeal_id", "user_id"),
        CheckConstraint("role IN ('chair', 'member')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))


class AppealNotice(TenantScoped, CabScoped, Base):
    """An overdue notice sent to the managers: one per appeal, kind and due date, so the daily
    job run twice sends nothing twice."""

    __tablename__ = "appeal_notices"
    __table_args__ = (UniqueConstraint("appeal_id", "kind", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # acknowledgement / outcome
    due_on: Mapped[date]
    sent_on: Mapped[date]
    recipients: Mapped[int] = mapped_column(default=0)
