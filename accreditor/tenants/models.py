"""Tenant = an accreditation body; TenantPolicy = its configurable rule values (DOMAIN.md ⚙)."""

from __future__ import annotations

import re
import string
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accreditor.core.db import Base, TimestampMixin
from accreditor.core.tenancy import TenantScoped
from accreditor.findings.grading import GRADING_SCHEMES  # noqa: F401 - the policy's choices

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")

# First path segments the platform uses itself; a tenant slug must never shadow them.
RESERVED_SLUGS = frozenset(
    {
        "admin", "api", "static", "directory", "verify", "login", "logout", "healthz",
        "bootstrap", "password", "invite", "account", "choose-tenant", "auth", "assets",
        "docs", "help", "about", "public", "portal", "settings", "www", "mail", "metrics",
        "status", "search", "new", "register", "signup", "robots-txt", "favicon-ico",
        "security", "openapi", "jobs", "outbox", "system", "root", "platform", "feeds",
        "calendar", "ical",
    }
)


NUMBER_FORMAT_FIELDS = {"seq", "programme", "programme_seq", "year"}
_SAMPLE = {"seq": 42, "programme": "CAL", "programme_seq": 3, "year": 2026}


def validate_number_format(fmt: str) -> str | None:
    """Return an error message, or None when ``fmt`` is a usable accreditation number format."""
    if not fmt or len(fmt) > 60:
        return "Give a format of 1 to 60 characters."
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None}
    except ValueError as exc:
        return f"Not a valid format: {exc}."
    unknown = {f.split(".")[0].split("[")[0] for f in fields} - NUMBER_FORMAT_FIELDS
    if unknown:
        return f"Unknown field(s): {', '.join(sorted(unknown))}. Use {{seq}}, {{programme}}, {{programme_seq}}, {{year}}."
    if "seq" not in fields:
        return "The format must contain {seq} so numbers are unique."
    try:
        fmt.format(**_SAMPLE)
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        return f"Not a valid format: {exc}."
    return None


class Tenant(TimestampMixin, Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    default_locale: Mapped[str] = mapped_column(String(10), default="en")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None]
    # The AB's identity on its certificates and schedules (accreditor.certificates)
    public_address: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(String(300))
    public_email: Mapped[str | None] = mapped_column(String(320))
    # A PNG/JPEG ``documents`` row (owner type "tenant_logo"); no foreign key, because
    # documents already refer to tenants (a cycle would complicate create/drop)
    logo_document_id: Mapped[int | None]

    policy: Mapped[TenantPolicy] = relationship(
        back_populates="tenant", uselist=False, lazy="raise"
    )

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class TenantPolicy(TenantScoped, Base):
    """Rule values an AB sets for itself. Later capabilities add their settings here."""

    __tablename__ = "tenant_policies"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint("cycle_length_months BETWEEN 12 AND 60", name="cycle_length_max_5y"),
        CheckConstraint("response_due_days > 0 AND evidence_due_days >= response_due_days",
                        name="deadlines_positive"),
        CheckConstraint("onsite_interval_max_months BETWEEN 1 AND 24", name="onsite_interval"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[Tenant] = relationship(back_populates="policy", lazy="raise")

    # Cycle and programme (rules 7, 9)
    cycle_length_months: Mapped[int] = mapped_column(default=60)
    first_surveillance_months: Mapped[int] = mapped_column(default=12)
    surveillance_interval_months: Mapped[int] = mapped_column(default=12)
    onsite_interval_max_months: Mapped[int] = mapped_column(default=24)
    # Findings (rule 14)
    response_due_days: Mapped[int] = mapped_column(default=30)
    evidence_due_days: Mapped[int] = mapped_column(default=90)
    grading_scheme: Mapped[str] = mapped_column(String(30), default="anab")
    # Reminders to the CAB before a finding's due dates (days before, e.g. "7,1"), and the
    # grace after an evidence due date before a sanction is proposed (rule 17)
    finding_reminder_days: Mapped[str] = mapped_column(String(40), default="7,1",
                                                       server_default="7,1")
    finding_escalation_grace_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # Numbers (rule 28)
    accreditation_number_format: Mapped[str] = mapped_column(String(60), default="{seq:04d}")
    # Applications (rule 38), impartiality (rule 3), sanctions (rule 18), directory (rule 27)
    application_validity_months: Mapped[int] = mapped_column(default=24)
    consultancy_lookback_years: Mapped[int] = mapped_column(default=2)
    employment_lookback_years: Mapped[int] = mapped_column(default=2)
    max_suspension_months: Mapped[int] = mapped_column(default=3)
    # Decisions: one decision maker, or a committee of this many (17011 7.7)
    decision_committee_size: Mapped[int] = mapped_column(default=1, server_default="1")
    directory_retention_months: Mapped[int] = mapped_column(default=12)
    # Sanctions: a suspension extended with justification up to this (rule 18); resignation
    # notice (rule 39); inactive status capped (rule 22)
    max_suspension_extended_months: Mapped[int] = mapped_column(default=9, server_default="9")
    resignation_notice_days: Mapped[int] = mapped_column(default=90, server_default="90")
    inactive_max_months: Mapped[int] = mapped_column(default=12, server_default="12")
    # Clean surveillance outcomes (maintain, no open findings) decided on a lighter path
    light_surveillance_decisions: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false())
    # Appeals (rules 23, 24)
    appeal_window_months: Mapped[int] = mapped_column(default=1, server_default="1")
    appeal_ack_working_days: Mapped[int] = mapped_column(default=2, server_default="2")
    appeal_outcome_working_days: Mapped[int] = mapped_column(default=12, server_default="12")
    appeal_second_stage_months: Mapped[int] = mapped_column(default=3, server_default="3")
    nc_appealable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Complaints (rule 25)
    complaint_ack_working_days: Mapped[int] = mapped_column(default=5, server_default="5")
    complaint_cab_response_days: Mapped[int] = mapped_column(default=90, server_default="90")
    complaint_resolution_days: Mapped[int] = mapped_column(default=90, server_default="90")
    # Assessments (rules 4, 37, 34)
    objection_window_days: Mapped[int] = mapped_column(default=10, server_default="10")
    onsite_monitoring_interval_months: Mapped[int] = mapped_column(default=36,
                                                                  server_default="36")
    witness_code_cycle_years: Mapped[int] = mapped_column(default=5, server_default="5")
    witness_due_soon_days: Mapped[int] = mapped_column(default=90, server_default="90")
    # Person-day estimator factors (DOMAIN.md §6); None = the built-in defaults.
    effort_factors: Mapped[dict | None] = mapped_column(JSON)

    @classmethod
    def current(cls) -> TenantPolicy:
        """The current tenant's policy: one query per request (kept on ``g`` while a request
        lasts; outside requests — jobs, CLI, tests — read each time)."""
        from flask import g, has_request_context
        from sqlalchemy import select

        from accreditor.core.tenancy import current_tenant_id
        from accreditor.extensions import db

        cached = g.get("tenant_policy") if has_request_context() else None
        if cached is not None and cached.tenant_id == current_tenant_id():
            return cached
        policy = db.session.execute(select(cls)).scalar_one()
        if has_request_context():
            g.tenant_policy = policy
        return policy


def policy_fields() -> list[str]:
    return [
        c.key
        for c in TenantPolicy.__table__.columns
        if c.key not in {"id", "tenant_id", "effort_factors"}
    ]

