"""Use cases for tenants: create one (with its first admin) and change its policy."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from accreditor.core import audit
from accreditor.core.errors import Conflict, ValidationFailed
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.tenants.models import (
    GRADING_SCHEMES,
    RESERVED_SLUGS,
    SLUG_RE,
    Tenant,
    TenantPolicy,
    policy_fields,
    validate_number_format,
)
from accreditor.tenants.policy import POLICY_RANGES, parse_reminder_days


def reserved_slugs() -> frozenset[str]:
    """Fixed reserved words plus the first path segment of every non-tenant URL rule."""
    used = set()
    for rule in current_app.url_map.iter_rules():
        first = rule.rule.lstrip("/").split("/", 1)[0]
        if first and not first.startswith("<"):
            used.add(first.replace(".", "-"))
    return RESERVED_SLUGS | used


def slug_problem(slug: str) -> str | None:
    if not SLUG_RE.match(slug or ""):
        return _("Use 3 to 40 lower-case letters, digits and hyphens, starting with a letter.")
    if slug in reserved_slugs():
        return _("“%(slug)s” is reserved by the platform. Choose another.", slug=slug)
    return None


def create_tenant(
    *, slug: str, name: str, country: str, default_locale: str = "en",
    admin_email: str | None = None, admin_name: str | None = None,
) -> Tenant:
    """Create an AB with default policy; invite its first administrator when given."""
    slug = (slug or "").strip().lower()
    problem = slug_problem(slug)
    if problem:
        raise ValidationFailed(problem, field="slug")
    if db.session.execute(select(Tenant.id).where(Tenant.slug == slug)).first():
        raise Conflict(_("The slug “%(slug)s” is already taken.", slug=slug), field="slug")
    country = (country or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise ValidationFailed(_("Give the two-letter ISO country code, e.g. GB."), field="country")
    tenant = Tenant(slug=slug, name=name.strip(), country=country, default_locale=default_locale)
    db.session.add(tenant)
    db.session.flush()
    audit.record("tenant.created", tenant, platform=True,
                 changes=audit.snapshot(tenant, ("slug", "name", "country", "default_locale")))
    with tenant_scope(tenant):
        policy = TenantPolicy(tenant_id=tenant.id)
        db.session.add(policy)
        db.session.flush()
        audit.record("tenant.created", tenant,
                     changes=audit.snapshot(tenant, ("slug", "name", "country", "default_locale")))
        from accreditor.findings.services import copy_preset

        # The default grades, part of the new tenant like its default policy row (no event of
        # their own; a later change of scheme or grade is audited).
        copy_preset(policy.grading_scheme, record=False)
        if admin_email:
            from accreditor.auth.services import invite_user

            invite_user(tenant, email=admin_email, name=admin_name or admin_email,
                        roles=[Role.admin])
    return tenant


def update_policy(policy: TenantPolicy, **values) -> dict:
    """Change policy values after checking them (ranges of ``POLICY_RANGES``, evidence not due
    before the response, surveillances inside the cycle, a known grading scheme, a usable number
    format); raises ValidationFailed naming the field, changes nothing then. Returns the audited
    changes ``{field: [old, new]}``."""
    unknown = set(values) - set(policy_fields())
    if unknown:
        raise ValidationFailed(f"unknown policy fields: {sorted(unknown)}")
    for key, rng in POLICY_RANGES.items():
        if key not in values:
            continue
        try:
            number = int(values[key])
        except (TypeError, ValueError):
            raise ValidationFailed(_("Give a whole number."), field=key) from None
        if isinstance(values[key], bool) or not rng.contains(number):
            raise ValidationFailed(str(rng.message), field=key)
        values[key] = number

    def after(key: str):
        return values.get(key, getattr(policy, key))

    if after("evidence_due_days") < after("response_due_days"):
        raise ValidationFailed(_("Evidence cannot be due before the response."),
                               field="evidence_due_days")
    cycle = after("cycle_length_months")
    for key in ("first_surveillance_months", "surveillance_interval_months"):
        if after(key) >= cycle:
            raise ValidationFailed(
                _("A surveillance must fall inside the %(n)d-month cycle: give fewer months.",
                  n=cycle), field=key)
    if after("max_suspension_extended_months") < after("max_suspension_months"):
        raise ValidationFailed(_("An extended suspension cannot be shorter than the longest "
                                 "suspension."), field="max_suspension_extended_months")
    if "grading_scheme" in values and values["grading_scheme"] not in GRADING_SCHEMES:
        raise ValidationFailed(_("Unknown grading scheme."), field="grading_scheme")
    if "finding_reminder_days" in values:
        days = parse_reminder_days(values["finding_reminder_days"])
        if days is None:
            raise ValidationFailed(_("Give 1 to 5 numbers of days from 1 to 90, separated by "
                                     "commas, e.g. “7, 1”."), field="finding_reminder_days")
        values["finding_reminder_days"] = ",".join(str(d) for d in days)
    if "accreditation_number_format" in values:
        problem = validate_number_format(values["accreditation_number_format"])
        if problem:
            raise ValidationFailed(problem, field="accreditation_number_format")
    for key, value in values.items():
        setattr(policy, key, value)
    changes = audit.diff(policy)
    if changes:
        db.session.flush()
        audit.record("tenant.policy_updated", policy, changes=changes)
    if "grading_scheme" in changes:
        from accreditor.findings.services import apply_scheme

        apply_scheme(policy.grading_scheme)  # existing findings keep their grades
    return changes
