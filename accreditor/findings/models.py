"""Grades, findings, the CAB's responses, notices sent about them and proposed sanctions.

A finding copies its grade's label, severity and behaviour when recorded, so a later change of
the tenant's grading scheme never rewrites it. Evidence files are documents (owner type
``finding_response``) attached to the response that carried them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accreditor.core.db import Base, TimestampMixin, utcnow
from accreditor.core.tenancy import CabScoped, TenantScoped
from accreditor.findings.grading import NONCONFORMITY, Severity


class FindingGrade(TenantScoped, Base):
    """One grade of the tenant's scheme. Never deleted: a replaced scheme's grades are made
    inactive, so findings keep pointing at the grade they were raised with."""

    __tablename__ = "finding_grades"
    __table_args__ = (
        CheckConstraint("severity IN ('critical', 'major', 'minor', 'observation')",
                        name="severity_known"),
        CheckConstraint("response_due_days IS NULL OR response_due_days > 0",
                        name="response_days_positive"),
        CheckConstraint("evidence_due_days IS NULL OR evidence_due_days > 0",
                        name="evidence_days_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(20))
    response_due_days: Mapped[int | None]  # None: the tenant's default
    evidence_due_days: Mapped[int | None]
    closure_requires_evidence: Mapped[bool] = mapped_column(Boolean, default=True)
    verify_at_next_visit: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def severity_enum(self) -> Severity:
        return Severity(self.severity)

    @property
    def proposes_suspension(self) -> bool:
        return self.severity == Severity.critical


class FindingStatus(StrEnum):
    draft = "draft"  # raised by a technical expert, awaiting confirmation (rule 6)
    recorded = "recorded"  # confirmed by the team, not yet issued to the CAB
    open = "open"  # issued: awaiting the CAB's (next) response
    responded = "responded"  # a response awaits the team's review
    plan_accepted = "plan_accepted"  # the plan is accepted; implementation evidence is awaited
    closed = "closed"
    withdrawn = "withdrawn"  # withdrawn by the team before it was issued


# Issued and not closed: what the CAB still has to answer, or the team to review.
OPEN_STATUSES = (FindingStatus.open.value, FindingStatus.responded.value,
                 FindingStatus.plan_accepted.value)
# Statuses in which the CAB may submit a response.
ANSWERABLE = (FindingStatus.open.value, FindingStatus.plan_accepted.value)
# Not yet issued: the team may still edit or withdraw.
UNISSUED = (FindingStatus.draft.value, FindingStatus.recorded.value)
# What the CAB sees (never drafts, unissued or withdrawn findings).
ISSUED_STATUSES = OPEN_STATUSES + (FindingStatus.closed.value,)


class ClosureBasis(StrEnum):
    evidence_accepted = "evidence_accepted"
    plan_accepted = "plan_accepted"  # a plan sufficed for the grade (verify at next visit)
    no_response_required = "no_response_required"  # an observation


class Finding(TenantScoped, CabScoped, TimestampMixin, Base):
    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("assessment_id", "seq"),
        CheckConstraint("severity IN ('critical', 'major', 'minor', 'observation')",
                        name="severity_known"),
        # Rule 14: every issued nonconformity has both due dates.
        CheckConstraint("severity = 'observation' OR status IN ('draft', 'recorded', 'withdrawn')"
                        " OR (response_due_on IS NOT NULL AND evidence_due_on IS NOT NULL)",
                        name="issued_nc_has_due_dates"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_at"),
        CheckConstraint("status IN ('draft', 'recorded', 'withdrawn') OR issued_at IS NOT NULL",
                        name="issued_at"),
        Index("ix_findings_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"), index=True)
    seq: Mapped[int]  # 1, 2, … within the assessment
    # The grade, copied when recorded (a changed scheme never rewrites a finding)
    grade_id: Mapped[int] = mapped_column(ForeignKey("finding_grades.id"))
    grade_label: Mapped[str] = mapped_column(String(80))
    severity: Mapped[str] = mapped_column(String(20))
    response_due_days: Mapped[int | None]
    evidence_due_days: Mapped[int | None]
    closure_requires_evidence: Mapped[bool] = mapped_column(Boolean, default=True)
    verify_at_next_visit: Mapped[bool] = mapped_column(Boolean, default=False)
    # Requirement: a clause of the programme's standard, or a scheme document in free text
    standard: Mapped[str] = mapped_column(String(120))
    clause: Mapped[str] = mapped_column(String(60))
    statement: Mapped[str] = mapped_column(Text)  # the nonconformity
    objective_evidence: Mapped[str] = mapped_column(Text)
    location_codes: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=FindingStatus.recorded)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    raised_as: Mapped[str] = mapped_column(String(20))  # the raiser's team role
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None]
    issued_at: Mapped[datetime | None]
    response_due_on: Mapped[date | None]
    evidence_due_on: Mapped[date | None]
    round: Mapped[int] = mapped_column(default=0)  # responses submitted so far
    overdue_since: Mapped[date | None]  # set by the daily job
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closure_basis: Mapped[str | None] = mapped_column(String(30))
    days_to_close: Mapped[int | None]  # issue → closure, kept for the dashboard's average
    # To be checked on site at the next visit (a plan sufficed); set when verified
    verified_at: Mapped[datetime | None]
    verified_in_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    # Handed to a follow-up assessment so this assessment can be closed (rule: recorded)
    followed_up_in_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    follow_up_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    assessment = relationship("Assessment", foreign_keys=[assessment_id], lazy="raise")
    accreditation = relationship("Accreditation", lazy="raise")
    cab = relationship("Cab", lazy="raise")
    raised_by = relationship("User", foreign_keys=[raised_by_id], lazy="raise")

    @property
    def status_enum(self) -> FindingStatus:
        return FindingStatus(self.status)

    @property
    def severity_enum(self) -> Severity:
        return Severity(self.severity)

    @property
    def is_nonconformity(self) -> bool:
        return self.severity_enum in NONCONFORMITY

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def reference(self) -> str:
        return f"{self.assessment_id}-{self.seq}"

    def due_on(self) -> date | None:
        """The date the CAB works towards now: the response while none is accepted, then the
        evidence."""
        if self.status == FindingStatus.open and self.round == 0:
            return self.response_due_on
        if self.status in ANSWERABLE:
            return self.evidence_due_on
        return None

    def overdue_on(self, today: date) -> bool:
        """Whether the CAB is late: a due date passed while it was the CAB's turn."""
        if self.status not in ANSWERABLE:
            return False
        due = self.due_on()
        return due is not None and due < today


class FindingItem(TenantScoped, CabScoped, Base):
    """A scope line a finding affects (a critical finding proposes suspending these)."""

    __tablename__ = "finding_items"
    __table_args__ = (UniqueConstraint("finding_id", "scope_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"),
                                            index=True)
    scope_item_id: Mapped[int] = mapped_column(ForeignKey("scope_items.id"), index=True)


class ResponseType(StrEnum):
    """ANAB closure evidence types 1/2/3."""

    conformity = "conformity"  # 1: evidence of conformity
    actions_completed = "actions_completed"  # 2: corrective actions completed, with evidence
    plan_only = "plan_only"  # 3: a corrective action plan; evidence follows


class ResponseOutcome(StrEnum):
    accepted = "accepted"
    rejected = "rejected"


class FindingResponse(TenantScoped, CabScoped, Base):
    """One round of the CAB's answer and the team's review. Submitted responses never change;
    a rejection opens a new round."""

    __tablename__ = "finding_responses"
    __table_args__ = (
        UniqueConstraint("finding_id", "round"),
        CheckConstraint("outcome IS NULL OR outcome IN ('accepted', 'rejected')",
                        name="outcome_known"),
        CheckConstraint("(outcome IS NULL) = (reviewed_at IS NULL)", name="reviewed_at"),
        CheckConstraint("outcome IS NULL OR outcome = 'accepted' OR review_note IS NOT NULL",
                        name="rejection_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    round: Mapped[int]
    response_type: Mapped[str] = mapped_column(String(30))
    correction: Mapped[str | None] = mapped_column(Text)
    cause_analysis: Mapped[str | None] = mapped_column(Text)  # extent and root cause
    corrective_action: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(20))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]

    submitted_by = relationship("User", foreign_keys=[submitted_by_id], lazy="raise")
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id], lazy="raise")


class FindingNotice(TenantScoped, CabScoped, Base):
    """A reminder or overdue notice sent about a finding: one row per notice, so the daily job
    run twice sends nothing twice."""

    __tablename__ = "finding_notices"
    __table_args__ = (UniqueConstraint("finding_id", "kind", "due_on", "days_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # reminder / overdue
    due_on: Mapped[date]  # the due date the notice is about
    days_before: Mapped[int]  # 7, 1 …; 0 for an overdue notice
    sent_on: Mapped[date]
    recipients: Mapped[int] = mapped_column(default=0)


class ProposalKind(StrEnum):
    suspension = "suspension"  # of the affected scope (accredited CAB)
    refusal = "refusal"  # refusal / lapse of the application (applicant)
    withdrawal = "withdrawal"  # of the accreditation (inactive too long: rule 22)


class ProposalSource(StrEnum):
    critical_finding = "critical_finding"  # rule 16
    overdue_finding = "overdue_finding"  # rule 17
    # Proposals about a whole accreditation (no finding), from the decisions' daily jobs
    inactive_cap = "inactive_cap"  # rule 22
    transition_deadline = "transition_deadline"  # rule 29
    suspension_max = "suspension_max"  # rule 18: a suspension reached its maximum


class ProposalStatus(StrEnum):
    proposed = "proposed"  # awaits the manager (and, with the decisions capability, a decision)
    dismissed = "dismissed"
    decided = "decided"  # taken to a decision (set by the decisions capability)


class SanctionProposal(TenantScoped, CabScoped, TimestampMixin, Base):
    """A draft sanction the system proposes to the case manager; never a decision."""

    __tablename__ = "sanction_proposals"
    __table_args__ = (
        # One per finding and source; an escalation once per evidence due date (an extended date
        # that passes again escalates again; a dismissed escalation stays dismissed).
        UniqueConstraint("finding_id", "source", "due_on"),
        CheckConstraint("(status = 'proposed') = (resolved_at IS NULL)", name="resolved_at"),
        # One per accreditation, source and date for those without a finding (rules 22, 29)
        Index("uq_sanction_proposals_accreditation_source_due", "accreditation_id", "source",
              "due_on", unique=True, sqlite_where=text("finding_id IS NULL"),
              postgresql_where=text("finding_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"), index=True)
    # None: a proposal about the whole accreditation (rules 22, 29)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(30))
    scope_item_ids: Mapped[list] = mapped_column(JSON, default=list)  # empty: the whole scope
    effective_on: Mapped[date]
    # The evidence due date an escalation is about (the critical-finding proposal: the
    # assessment's start, its effective date)
    due_on: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ProposalStatus.proposed, index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)

    finding = relationship("Finding", lazy="raise")
