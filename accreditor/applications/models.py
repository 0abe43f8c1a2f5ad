"""Applications and their status history."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accreditor.core.db import Base, TimestampMixin, utcnow
from accreditor.core.errors import InvalidTransition
from accreditor.core.tenancy import CabScoped, TenantScoped


class ApplicationType(StrEnum):
    initial = "initial"
    extension = "extension"
    reduction = "reduction"
    reaccreditation = "reaccreditation"
    voluntary_suspension = "voluntary_suspension"
    voluntary_withdrawal = "voluntary_withdrawal"
    change_of_details = "change_of_details"

    @property
    def adds_scope(self) -> bool:
        return self in (ApplicationType.initial, ApplicationType.extension,
                        ApplicationType.reaccreditation)

    @property
    def needs_accreditation(self) -> bool:
        """Every type except an initial application acts on an existing accreditation."""
        return self != ApplicationType.initial


class ApplicationStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    info_requested = "info_requested"
    accepted = "accepted"
    refused = "refused"
    lapsed = "lapsed"
    withdrawn = "withdrawn"


S = ApplicationStatus
# A draft is never "withdrawn": the AB never saw it, and the CHECK constraint
# ``submitted_has_date`` only allows status draft without a submission date. The CAB discards a
# draft instead (services.discard_draft).
TRANSITIONS: dict[ApplicationStatus, set[ApplicationStatus]] = {
    S.draft: {S.submitted},
    S.submitted: {S.info_requested, S.accepted, S.refused, S.lapsed, S.withdrawn},
    S.info_requested: {S.submitted, S.refused, S.lapsed, S.withdrawn},
    S.accepted: {S.lapsed, S.withdrawn},
    S.refused: set(),
    S.lapsed: set(),
    S.withdrawn: set(),
}
OPEN_STATUSES = frozenset({S.submitted, S.info_requested, S.accepted})


class Application(TenantScoped, CabScoped, TimestampMixin, Base):
    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint("(status = 'draft') OR submitted_at IS NOT NULL", name="submitted_has_date"),
        CheckConstraint("(status != 'refused') OR decision_reason IS NOT NULL",
                        name="refusal_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default=S.draft, index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    accreditation_id: Mapped[int | None] = mapped_column(ForeignKey("accreditations.id"), index=True)
    summary: Mapped[str | None] = mapped_column(Text)  # what is asked for, in the CAB's words
    location_codes: Mapped[str | None] = mapped_column(Text)  # locations covered, comma-separated
    # Reduction / voluntary suspension / voluntary withdrawal: the existing lines it concerns.
    target_item_ids: Mapped[list] = mapped_column(JSON, default=list)
    declaration_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    lapses_on: Mapped[date | None]
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    cab = relationship("Cab", lazy="raise")
    programme = relationship("Programme", lazy="raise")
    accreditation = relationship("Accreditation", lazy="raise")

    @property
    def type_enum(self) -> ApplicationType:
        return ApplicationType(self.type)

    @property
    def status_enum(self) -> ApplicationStatus:
        return ApplicationStatus(self.status)

    def can_move_to(self, new: ApplicationStatus) -> bool:
        return new in TRANSITIONS[self.status_enum]

    def ensure_can_move_to(self, new: ApplicationStatus) -> None:
        """Raise InvalidTransition unless the transition table allows ``new``."""
        if not self.can_move_to(new):
            raise InvalidTransition(
                f"An application that is {self.status_enum.value.replace('_', ' ')} cannot become "
                f"{new.value.replace('_', ' ')}."
            )

    def set_status(self, new: ApplicationStatus) -> None:
        self.ensure_can_move_to(new)
        self.status = new.value

    @property
    def is_editable_by_cab(self) -> bool:
        return self.status_enum in (S.draft, S.info_requested)

    @property
    def can_be_withdrawn(self) -> bool:
        """The CAB may withdraw a submitted application until it is decided."""
        return self.can_move_to(S.withdrawn)

    @property
    def can_be_discarded(self) -> bool:
        """A draft the AB has not seen yet may be discarded by the CAB."""
        return self.status_enum == S.draft


class ApplicationEvent(TenantScoped, CabScoped, Base):
    """Status history and the conversation (information requests and answers), both sides see it."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
