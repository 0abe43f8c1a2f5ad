"""Assessor register, assessments, teams, objections, witness records and calendar feeds.

Rules (DOMAIN.md §8) live in the services of this package; the models hold state, the
transition table and database constraints that tie state to columns.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accreditor.core.db import Base, TimestampMixin, utcnow
from accreditor.core.errors import InvalidTransition
from accreditor.core.tenancy import CabScoped, TenantScoped

# -- assessor register ------------------------------------------------------------------------


class AuthorisationRole(StrEnum):
    lead_assessor = "lead_assessor"
    assessor = "assessor"
    technical_expert = "technical_expert"
    observer = "observer"  # observer / trainee: no authority to raise findings


class AuthorisationStatus(StrEnum):
    proposed = "proposed"
    approved = "approved"
    withdrawn = "withdrawn"


class AssessorProfile(TenantScoped, Base):
    """What the AB records about a person who assesses for it."""

    __tablename__ = "assessor_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation: Mapped[str | None] = mapped_column(String(200))  # shown to the CAB (rule 4)
    is_external: Mapped[bool] = mapped_column(Boolean, default=False)
    last_onsite_monitoring_on: Mapped[date | None]  # rule 37
    monitoring_notes: Mapped[str | None] = mapped_column(Text)

    user = relationship("User", lazy="raise")


class AssessorAuthorisation(TenantScoped, TimestampMixin, Base):
    """Person × role × programme × technical areas × validity (ISO/IEC 17011 6.1.2)."""

    __tablename__ = "assessor_authorisations"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity_ordered"),
        CheckConstraint("(status = 'approved') = (approved_at IS NOT NULL)", name="approved_at"),
        Index("ix_assessor_authorisations_user_programme", "user_id", "programme_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(30))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    # Which list ``areas`` come from (a refdata TermKind value, "scheme" for 17024 schemes, or
    # None for the whole programme); IAF clusters are written "cluster:<name>".
    area_kind: Mapped[str | None] = mapped_column(String(30))
    areas: Mapped[list] = mapped_column(JSON, default=list)
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]  # the authorisation stops counting ON this day
    status: Mapped[str] = mapped_column(String(20), default=AuthorisationStatus.proposed)
    # Four eyes: whoever proposed it cannot approve it (None: loaded as data, e.g. the demo)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)

    user = relationship("User", foreign_keys=[user_id], lazy="raise")
    programme = relationship("Programme", lazy="raise")

    def is_current(self, on: date) -> bool:
        return (self.status == AuthorisationStatus.approved and self.valid_from <= on
                and (self.valid_to is None or on < self.valid_to))


class InterestKind(StrEnum):
    consultancy = "consultancy"
    employment = "employment"
    financial = "financial"
    other = "other"


class InterestDeclaration(TenantScoped, CabScoped, TimestampMixin, Base):
    """A declared link with a CAB or a related body (rules 2, 3)."""

    __tablename__ = "interest_declarations"
    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="period_ordered"),
        CheckConstraint("cab_id IS NOT NULL OR organisation IS NOT NULL", name="names_someone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # The CAB concerned, or (for related bodies and others) a free-text organisation name.
    cab_id: Mapped[int | None] = mapped_column(ForeignKey("cabs.id"), index=True)
    organisation: Mapped[str | None] = mapped_column(String(250))
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    description: Mapped[str | None] = mapped_column(Text)

    user = relationship("User", lazy="raise")
    cab = relationship("Cab", lazy="raise")


# -- assessments ------------------------------------------------------------------------------


class AssessmentType(StrEnum):
    document_review = "document_review"
    pre_assessment = "pre_assessment"
    initial = "initial"
    surveillance = "surveillance"
    reassessment = "reassessment"
    extension = "extension"
    follow_up = "follow_up"
    special = "special"  # special / short-notice
    witness = "witness"


# Types whose on-site activity resets the 24-month on-site clock (rule 9).
ONSITE_TYPES = frozenset({AssessmentType.initial, AssessmentType.surveillance,
                          AssessmentType.reassessment, AssessmentType.extension,
                          AssessmentType.follow_up, AssessmentType.special,
                          AssessmentType.pre_assessment})


class AssessmentMode(StrEnum):
    onsite = "onsite"
    remote = "remote"
    hybrid = "hybrid"


class AssessmentStatus(StrEnum):
    draft = "draft"
    team_proposed = "team_proposed"
    team_confirmed = "team_confirmed"
    plan_approved = "plan_approved"
    in_progress = "in_progress"
    report_issued = "report_issued"
    closed = "closed"
    cancelled = "cancelled"


A = AssessmentStatus
TRANSITIONS: dict[AssessmentStatus, set[AssessmentStatus]] = {
    A.draft: {A.team_proposed, A.cancelled},
    A.team_proposed: {A.team_confirmed, A.draft, A.cancelled},
    A.team_confirmed: {A.plan_approved, A.team_proposed, A.cancelled},
    A.plan_approved: {A.in_progress, A.team_proposed, A.cancelled},
    A.in_progress: {A.report_issued},
    A.report_issued: {A.closed},
    A.closed: set(),
    A.cancelled: set(),
}


class Assessment(TenantScoped, CabScoped, TimestampMixin, Base):
    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint("planned_end_on >= planned_start_on", name="planned_dates_ordered"),
        CheckConstraint("mode = 'onsite' OR (remote_justification IS NOT NULL AND "
                        "ict_risk_note IS NOT NULL)", name="remote_justified"),
        CheckConstraint("NOT onsite_not_applicable OR onsite_not_applicable_reason IS NOT NULL",
                        name="onsite_na_reason"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_at"),
        Index("ix_assessments_tenant_dates", "tenant_id", "planned_start_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    mode: Mapped[str] = mapped_column(String(10), default=AssessmentMode.onsite)
    status: Mapped[str] = mapped_column(String(20), default=A.draft, index=True)
    planned_start_on: Mapped[date]
    planned_end_on: Mapped[date]
    location_codes: Mapped[list] = mapped_column(JSON, default=list)
    # Remote / hybrid (rule 36, IAF MD 4)
    remote_justification: Mapped[str | None] = mapped_column(Text)
    ict_risk_note: Mapped[str | None] = mapped_column(Text)
    # A remote assessment counts as on-site for rule 9 only when on-site is not applicable.
    onsite_not_applicable: Mapped[bool] = mapped_column(Boolean, default=False)
    onsite_not_applicable_reason: Mapped[str | None] = mapped_column(Text)
    # Risk consideration recorded before the plan is approved (rule 40)
    risk_consideration: Mapped[str | None] = mapped_column(Text)
    risk_recorded_at: Mapped[datetime | None]
    risk_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Effort (DOMAIN.md §6): the estimate and the actual, so a tenant can calibrate
    estimated_days: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    actual_days: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    # CAB objection window (rule 4)
    team_notified_at: Mapped[datetime | None]
    objection_window_ends_on: Mapped[date | None]
    objection_window_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Plan (shared with the CAB) and internal notes (never shown to the CAB)
    agenda: Mapped[str | None] = mapped_column(Text)
    internal_notes: Mapped[str | None] = mapped_column(Text)
    # Report
    report_summary: Mapped[str | None] = mapped_column(Text)
    scope_recommended: Mapped[str | None] = mapped_column(Text)
    recommendation: Mapped[str | None] = mapped_column(String(30))
    report_issued_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    from_programme: Mapped[bool] = mapped_column(Boolean, default=False)

    cab = relationship("Cab", lazy="raise")
    accreditation = relationship("Accreditation", lazy="raise")
    team: Mapped[list[TeamAssignment]] = relationship(back_populates="assessment", lazy="raise")

    @property
    def status_enum(self) -> AssessmentStatus:
        return AssessmentStatus(self.status)

    @property
    def type_enum(self) -> AssessmentType:
        return AssessmentType(self.type)

    def can_move_to(self, new: AssessmentStatus) -> bool:
        return new in TRANSITIONS[self.status_enum]

    def set_status(self, new: AssessmentStatus) -> None:
        if not self.can_move_to(new):
            raise InvalidTransition(
                f"An assessment that is {self.status.replace('_', ' ')} cannot become "
                f"{new.value.replace('_', ' ')}.")
        self.status = new.value

    @property
    def counts_as_onsite(self) -> bool:
        """Whether it resets the on-site clock (rule 9)."""
        if self.type_enum not in ONSITE_TYPES:
            return False
        return self.mode != AssessmentMode.remote or self.onsite_not_applicable


class AssessmentItem(TenantScoped, CabScoped, Base):
    """A scope line sampled by an assessment."""

    __tablename__ = "assessment_items"
    __table_args__ = (UniqueConstraint("assessment_id", "scope_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"),
                                               index=True)
    scope_item_id: Mapped[int] = mapped_column(ForeignKey("scope_items.id"), index=True)


class TeamRole(StrEnum):
    lead = "lead"
    assessor = "assessor"
    technical_expert = "technical_expert"
    observer = "observer"


# The authorisation role that qualifies someone for a team role.
TEAM_ROLE_AUTHORISATION = {
    TeamRole.lead: {AuthorisationRole.lead_assessor},
    TeamRole.assessor: {AuthorisationRole.lead_assessor, AuthorisationRole.assessor},
    TeamRole.technical_expert: {AuthorisationRole.lead_assessor, AuthorisationRole.assessor,
                                AuthorisationRole.technical_expert},
    TeamRole.observer: set(AuthorisationRole),
}


class TeamAssignment(TenantScoped, CabScoped, Base):
    __tablename__ = "team_assignments"
    __table_args__ = (UniqueConstraint("assessment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"),
                                               index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    assessment: Mapped[Assessment] = relationship(back_populates="team", lazy="raise")
    user = relationship("User", lazy="raise")


class ObjectionStatus(StrEnum):
    open = "open"
    upheld = "upheld"  # the member is replaced
    dismissed = "dismissed"


class TeamObjection(TenantScoped, CabScoped, TimestampMixin, Base):
    """The CAB's objection to a proposed team member (rule 4), resolved by the manager."""

    __tablename__ = "team_objections"
    __table_args__ = (
        CheckConstraint("(status = 'open') = (resolved_at IS NULL)", name="resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"),
                                               index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # the member objected to
    reason: Mapped[str] = mapped_column(Text)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default=ObjectionStatus.open)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]


# -- witnessing -------------------------------------------------------------------------------


class WitnessActivity(StrEnum):
    ms_audit = "ms_audit"  # a CB audit of a named client (IAF MD 17)
    inspection = "inspection"
    examination = "examination"  # of candidates (17024)
    test = "test"
    calibration = "calibration"


class Witness(TenantScoped, CabScoped, TimestampMixin, Base):
    """A witnessed activity of the CAB (rule 35): never a finding against the CAB's client."""

    __tablename__ = "witnesses"
    __table_args__ = (
        CheckConstraint("extent IN ('full', 'partial')", name="extent"),
        CheckConstraint("mode IN ('onsite', 'remote')", name="mode"),
        Index("ix_witnesses_accreditation_date", "accreditation_id", "witnessed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"))
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), index=True)
    activity: Mapped[str] = mapped_column(String(20))
    client_name: Mapped[str | None] = mapped_column(String(250))  # the CB's client, if any
    audit_type: Mapped[str | None] = mapped_column(String(30))  # initial / surveillance / recert.
    cab_personnel: Mapped[str] = mapped_column(Text)  # auditors / inspectors / examiners observed
    standard: Mapped[str | None] = mapped_column(String(80))  # "ISO 9001:2015" or a scheme
    iaf_code: Mapped[str | None] = mapped_column(String(10))
    cluster: Mapped[str | None] = mapped_column(String(120))
    category: Mapped[str | None] = mapped_column(String(40))  # food-chain category, scheme level
    extent: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(10))
    witnessed_on: Mapped[date]
    place: Mapped[str | None] = mapped_column(String(250))
    outcome: Mapped[str] = mapped_column(String(20), default="satisfactory")
    notes: Mapped[str | None] = mapped_column(Text)


# -- calendars --------------------------------------------------------------------------------


class CalendarToken(TenantScoped, Base):
    """A private, revocable iCalendar feed URL of one person's assignments."""

    __tablename__ = "calendar_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
