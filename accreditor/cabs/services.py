"""Use cases for CAB records: create and edit a CAB, its locations and contacts."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func, select

from accreditor.auth.models import Membership, MembershipRole, User
from accreditor.cabs.models import Cab, CabContact, CabLocation, LocationKind
from accreditor.core import audit
from accreditor.core.errors import Conflict, ValidationFailed
from accreditor.core.permissions import STAFF_ROLES, Role
from accreditor.extensions import db

CAB_FIELDS = ("legal_name", "trading_names", "registration_number", "country", "website",
              "related_bodies", "consultants_used", "manager_id")
LOCATION_FIELDS = ("code", "name", "address", "country", "activities", "kind", "is_critical",
                   "is_active")
CONTACT_FIELDS = ("name", "position", "email", "phone", "is_public")


def _country(value: str) -> str:
    value = (value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValidationFailed(_("Give the two-letter ISO country code, e.g. GB."), field="country")
    return value


def _trading_names(value) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[;\n]", value)
    return [v.strip() for v in (value or []) if v and v.strip()]


def _clean_cab(values: dict) -> dict:
    out = {k: values[k] for k in CAB_FIELDS if k in values}
    if "legal_name" in out:
        out["legal_name"] = (out["legal_name"] or "").strip()
        if not out["legal_name"]:
            raise ValidationFailed(_("The legal name is required."), field="legal_name")
    if "country" in out:
        out["country"] = _country(out["country"])
    if "trading_names" in out:
        out["trading_names"] = _trading_names(out["trading_names"])
    if out.get("website"):
        site = out["website"].strip()
        if not re.match(r"^https?://", site):
            site = "https://" + site
        out["website"] = site
    for key in ("registration_number", "related_bodies", "consultants_used", "website"):
        if key in out and isinstance(out[key], str):
            out[key] = out[key].strip() or None
    return out


def _refuse_duplicate(legal_name: str, country: str, *, other_than: int | None = None) -> None:
    """One CAB per legal name and country in a tenant (names compared case-insensitively)."""
    stmt = select(Cab.id).where(func.lower(Cab.legal_name) == legal_name.lower(),
                                Cab.country == country)
    if other_than is not None:
        stmt = stmt.where(Cab.id != other_than)
    if db.session.execute(stmt).first():
        raise Conflict(_("A CAB with this legal name already exists in this country."),
                       field="legal_name")


def _check_manager(user_id: int | None) -> None:
    """The case manager must be one of this tenant's active staff (never another tenant's user)."""
    if user_id is None:
        return
    from accreditor.auth.models import Membership, MembershipRole

    staff = db.session.execute(
        select(Membership.id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.user_id == user_id, Membership.is_active,
               MembershipRole.role.in_([r.value for r in STAFF_ROLES]))
        .limit(1)
    ).first()
    if not staff:
        raise ValidationFailed(_("Choose a member of staff as the manager."), field="manager_id")


def create_cab(**values) -> Cab:
    """Create a CAB record. A second CAB with the same legal name and country is refused."""
    clean = _clean_cab({"legal_name": "", "country": "", **values})
    _refuse_duplicate(clean["legal_name"], clean["country"])
    _check_manager(clean.get("manager_id"))
    cab = Cab(**clean)
    db.session.add(cab)
    db.session.flush()
    audit.record("cab.created", cab, changes=audit.snapshot(cab, tuple(clean)))
    return cab


def update_cab(cab: Cab, **values) -> dict:
    """Change a CAB's details; refuses a duplicate legal name and country, or a manager who is
    not staff. Returns the changes ({} when nothing changed)."""
    clean = _clean_cab(values)
    if "legal_name" in clean or "country" in clean:
        _refuse_duplicate(clean.get("legal_name", cab.legal_name),
                          clean.get("country", cab.country), other_than=cab.id)
    if "manager_id" in clean and clean["manager_id"] != cab.manager_id:
        _check_manager(clean.get("manager_id"))
    for key, value in clean.items():
        setattr(cab, key, value)
    changes = audit.diff(cab, exclude=("updated_at",))
    if changes:
        db.session.flush()
        audit.record("cab.updated", cab, changes=changes)
        _republish(cab.id)
    return changes


def _clean_location(values: dict) -> dict:
    out = {k: values[k] for k in LOCATION_FIELDS if k in values}
    code = (out.get("code") or "").strip().upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{0,9}", code):
        raise ValidationFailed(_("Use 1 to 10 letters or digits, e.g. A or LAB2."), field="code")
    if code in {"P", "O"}:
        raise ValidationFailed(_("P and O are reserved (permanent lab / on site)."), field="code")
    out["code"] = code
    if not (out.get("name") or "").strip():
        raise ValidationFailed(_("Give the location a name."), field="name")
    if not (out.get("address") or "").strip():
        raise ValidationFailed(_("The address is required."), field="address")
    out["country"] = _country(out.get("country", ""))
    kind = out.get("kind") or LocationKind.permanent.value
    if kind not in {k.value for k in LocationKind}:
        raise ValidationFailed(_("Unknown kind of location."), field="kind")
    out["kind"] = kind
    return out


def add_location(cab: Cab, **values) -> CabLocation:
    clean = _clean_location(values)
    if db.session.execute(
        select(CabLocation.id).where(CabLocation.cab_id == cab.id,
                                     CabLocation.code == clean["code"])
    ).first():
        raise Conflict(_("Location code %(c)s is already used by this CAB.", c=clean["code"]),
                       field="code")
    loc = CabLocation(cab_id=cab.id, **clean)
    db.session.add(loc)
    db.session.flush()
    audit.record("cab.location_added", loc, changes=audit.snapshot(loc, tuple(clean)))
    _republish(cab.id)
    return loc


def update_location(loc: CabLocation, **values) -> dict:
    clean = _clean_location(values)
    if clean["code"] != loc.code and db.session.execute(
        select(CabLocation.id).where(CabLocation.cab_id == loc.cab_id,
                                     CabLocation.code == clean["code"])
    ).first():
        raise Conflict(_("Location code %(c)s is already used by this CAB.", c=clean["code"]),
                       field="code")
    for key, value in clean.items():
        setattr(loc, key, value)
    changes = audit.diff(loc)
    if changes:
        db.session.flush()
        audit.record("cab.location_updated", loc, changes=changes)
        _republish(loc.cab_id)
    return changes


def _clean_contact(values: dict) -> dict:
    clean = {k: values[k] for k in CONTACT_FIELDS if k in values}
    for key in ("name", "position", "email", "phone"):
        if isinstance(clean.get(key), str):
            clean[key] = clean[key].strip() or None
    return clean


def add_contact(cab: Cab, **values) -> CabContact:
    """Add a contact person to a CAB; the name is required."""
    clean = _clean_contact(values)
    if not clean.get("name"):
        raise ValidationFailed(_("Give the contact's name."), field="name")
    contact = CabContact(cab_id=cab.id, **clean)
    db.session.add(contact)
    db.session.flush()
    audit.record("cab.contact_added", contact, changes=audit.snapshot(contact, tuple(clean)))
    if contact.is_public:
        _republish(cab.id)
    return contact


def update_contact(contact: CabContact, **values) -> dict:
    """Change a contact; the name may not be blanked."""
    clean = _clean_contact(values)
    if "name" in clean and not clean["name"]:
        raise ValidationFailed(_("Give the contact's name."), field="name")
    for key, value in clean.items():
        setattr(contact, key, value)
    changes = audit.diff(contact)
    if changes:
        db.session.flush()
        audit.record("cab.contact_updated", contact, changes=changes)
        _republish(contact.cab_id)
    return changes


def remove_contact(contact: CabContact) -> None:
    audit.record("cab.contact_removed", contact, changes=audit.snapshot(contact, CONTACT_FIELDS))
    cab_id, was_public = contact.cab_id, contact.is_public
    db.session.delete(contact)
    db.session.flush()
    if was_public:
        _republish(cab_id)


def _republish(cab_id: int) -> None:
    """The schedule and the public directory show the CAB's name, locations and public contact:
    issue the next schedule of each live accreditation whose documents show what changed
    (rule 28), and refresh the published entries now, not at the next decision (unchanged ones
    write nothing)."""
    from accreditor.decisions.services import reissue_cab_schedules
    from accreditor.directory import services as directory

    reissue_cab_schedules(cab_id)  # rule 28: a detail the schedule shows changed
    directory.republish_cab(cab_id)


# -- who to tell --------------------------------------------------------------------------------


def cab_user_emails(cab_id: int) -> list[str]:
    """E-mail addresses of the CAB's active users (the portal's readers), sorted, once each."""
    return sorted(set(db.session.execute(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.cab_id == cab_id, Membership.is_active,
               MembershipRole.role == Role.cab_user.value)
    ).scalars()))


def case_manager_email(cab_id: int) -> str | None:
    """E-mail of the CAB's case manager, if one is named."""
    return db.session.execute(
        select(User.email).join(Cab, Cab.manager_id == User.id).where(Cab.id == cab_id)
    ).scalar_one_or_none()


def cab_choices() -> list[tuple[int, str]]:
    """(id, legal name) of the tenant's CABs, by name: the options of a CAB filter."""
    return [(cid, name) for cid, name in db.session.execute(
        select(Cab.id, Cab.legal_name).order_by(func.lower(Cab.legal_name), Cab.id)).all()]
