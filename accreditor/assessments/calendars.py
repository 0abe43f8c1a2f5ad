"""Calendars: the tenant calendar of assessments, a person's own assignments, and the private,
revocable iCalendar feed of those assignments.

The feed URL carries a random token; only its SHA-256 is stored (``CalendarToken.token_hash``),
so the database never holds a usable URL, and a request is matched by looking the hash up
through a unique index (no string comparison of secrets in Python, so nothing to time). A
person has at most one active token per tenant: creating one revokes the previous one. Only a
member holding the assessor role has a feed; a feed stops working the moment the token is
revoked, the membership ends or the role is taken away.

The feed carries what an assessor needs in a diary and nothing more: the type, the CAB's name,
the city of the locations visited, the dates, the person's role and the status. Internal notes,
the agenda and the CAB's contacts and addresses are never in it.

Queries are bounded whatever the data: the tenant calendar is one query for its entries (capped
at ``MAX_ENTRIES``), a person's assignments two, the feed three. Nothing here commits.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import exists, func, select

from accreditor.assessments import services
from accreditor.assessments.models import (
    Assessment,
    AssessmentMode,
    AssessmentStatus,
    CalendarToken,
    TeamAssignment,
    TeamRole,
)
from accreditor.auth.models import Membership, MembershipRole, User
from accreditor.cabs.models import Cab, CabLocation
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, PermissionDenied
from accreditor.core.permissions import Role
from accreditor.core.tenancy import ALL_TENANTS
from accreditor.extensions import db
from accreditor.refdata.models import Programme
from accreditor.scopes.models import Accreditation
from accreditor.tenants.models import Tenant

MAX_ENTRIES = 1000  # entries on one calendar page; past that the page asks for a filter
UPCOMING_LIMIT = 200  # a person's upcoming assignments listed on their page
PAST_PAGE_SIZE = 25
FEED_PAST_DAYS = 365  # the feed keeps a year of past assessments …
FEED_MAX_EVENTS = 1000  # … and at most this many events
TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


# -- the tenant calendar ------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarFilter:
    """What the tenant calendar is narrowed to (all ``None`` = every assessment)."""

    programme_id: int | None = None
    type: str | None = None
    status: str | None = None
    person_id: int | None = None  # on the team of …
    lead_only: bool = False  # … as its lead
    cab_id: int | None = None
    mode: str | None = None

    @property
    def active(self) -> bool:
        return any((self.programme_id, self.type, self.status, self.person_id, self.cab_id,
                    self.mode))


@dataclass(frozen=True)
class Entry:
    """One assessment as the calendars show it (plain values, no ORM object)."""

    id: int
    type: str
    mode: str
    status: str
    start: date
    end: date
    cab_id: int
    cab_name: str
    programme_code: str
    lead_name: str | None = None
    role: str | None = None  # the viewer's role on the team (own assignments, the feed)
    location_codes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_cancelled(self) -> bool:
        return self.status == AssessmentStatus.cancelled.value

    def days(self, first: date, last: date) -> Iterable[date]:
        """The days of the assessment that fall within ``first``..``last``."""
        day, stop = max(self.start, first), min(self.end, last)
        while day <= stop:
            yield day
            day += timedelta(days=1)


def _entry_columns():
    return (Assessment.id, Assessment.type, Assessment.mode, Assessment.status,
            Assessment.planned_start_on, Assessment.planned_end_on, Assessment.cab_id,
            Cab.legal_name, Programme.code)


def _base(*extra):
    return (select(*_entry_columns(), *extra)
            .join(Accreditation, Accreditation.id == Assessment.accreditation_id)
            .join(Programme, Programme.id == Accreditation.programme_id)
            .join(Cab, Cab.id == Assessment.cab_id))


def _conditions(f: CalendarFilter) -> list:
    conds = []
    if f.programme_id:
        conds.append(Accreditation.programme_id == f.programme_id)
    if f.type:
        conds.append(Assessment.type == f.type)
    if f.status:
        conds.append(Assessment.status == f.status)
    if f.mode:
        conds.append(Assessment.mode == f.mode)
    if f.cab_id:
        conds.append(Assessment.cab_id == f.cab_id)
    if f.person_id:
        on_team = select(TeamAssignment.assessment_id).where(
            TeamAssignment.user_id == f.person_id)
        if f.lead_only:
            on_team = on_team.where(TeamAssignment.role == TeamRole.lead.value)
        conds.append(Assessment.id.in_(on_team))
    return conds


def calendar_entries(first: date, last: date, f: CalendarFilter | None = None, *,
                     limit: int = MAX_ENTRIES) -> tuple[list[Entry], bool]:
    """The current tenant's assessments whose planned dates overlap ``first``..``last``,
    narrowed by ``f``, in date order; and whether more than ``limit`` matched (one query)."""
    stmt = (_base(services.lead_name_column().label("lead"))
            .where(Assessment.planned_start_on <= last, Assessment.planned_end_on >= first,
                   *_conditions(f or CalendarFilter()))
            .order_by(Assessment.planned_start_on, Assessment.planned_end_on, Assessment.id)
            .limit(limit + 1))
    rows = db.session.execute(stmt).all()
    entries = [Entry(*row[:9], lead_name=row.lead) for row in rows[:limit]]
    return entries, len(rows) > limit


def month_grid(on: date) -> list[list[date]]:
    """The weeks (Monday to Sunday) that show the month of ``on``."""
    first = on.replace(day=1)
    start = first - timedelta(days=first.weekday())
    next_month = (first + timedelta(days=32)).replace(day=1)
    weeks, day = [], start
    while day < next_month:
        weeks.append([day + timedelta(days=i) for i in range(7)])
        day += timedelta(days=7)
    return weeks


def by_day(entries: Sequence[Entry], first: date, last: date) -> dict[date, list[Entry]]:
    """Each day of ``first``..``last`` with the entries that run on it."""
    days: dict[date, list[Entry]] = {}
    for e in entries:
        for day in e.days(first, last):
            days.setdefault(day, []).append(e)
    return days


def person_choices() -> list[tuple[int, str]]:
    """The tenant's active members who hold the assessor role, by name (one query)."""
    return [(uid, name) for uid, name in db.session.execute(
        select(User.id, User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.is_active, exists().where(
            MembershipRole.membership_id == Membership.id,
            MembershipRole.role == Role.assessor.value))
        .order_by(func.lower(User.name), User.id)).all()]


# -- a person's own assignments -----------------------------------------------------------------


def _assignment_stmt(user_id: int):
    return (_base(TeamAssignment.role, Assessment.location_codes)
            .join(TeamAssignment, TeamAssignment.assessment_id == Assessment.id)
            .where(TeamAssignment.user_id == user_id))


def _assignment(row) -> Entry:
    return Entry(*row[:9], role=row.role, location_codes=tuple(row.location_codes or ()))


def assignments(user_id: int, *, today: date, past_page: int = 1,
                past_page_size: int = PAST_PAGE_SIZE) -> tuple[list[Entry], list[Entry], bool]:
    """The person's team assignments in the current tenant: upcoming ones (not yet ended,
    soonest first, up to ``UPCOMING_LIMIT``), one page of past ones (latest first) and whether
    older ones exist. Two queries."""
    upcoming = db.session.execute(
        _assignment_stmt(user_id).where(Assessment.planned_end_on >= today)
        .order_by(Assessment.planned_start_on, Assessment.id).limit(UPCOMING_LIMIT)).all()
    past = db.session.execute(
        _assignment_stmt(user_id).where(Assessment.planned_end_on < today)
        .order_by(Assessment.planned_end_on.desc(), Assessment.id.desc())
        .limit(past_page_size + 1).offset((max(1, past_page) - 1) * past_page_size)).all()
    return ([_assignment(r) for r in upcoming], [_assignment(r) for r in past[:past_page_size]],
            len(past) > past_page_size)


# -- feed tokens --------------------------------------------------------------------------------


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def active_token(user_id: int) -> CalendarToken | None:
    """The person's active feed token in the current tenant, if any."""
    return db.session.execute(
        select(CalendarToken).where(CalendarToken.user_id == user_id,
                                    CalendarToken.revoked_at.is_(None))
        .order_by(CalendarToken.id.desc()).limit(1)).scalar_one_or_none()


def _revoke_all(user_id: int, reason: str) -> list[CalendarToken]:
    tokens = db.session.execute(
        select(CalendarToken).where(CalendarToken.user_id == user_id,
                                    CalendarToken.revoked_at.is_(None))).scalars().all()
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
        audit.record("calendar.token_revoked", token,
                     changes={"revoked_at": [None, now], "reason": [None, reason]})
    return list(tokens)


def create_feed_token(user: User) -> str:
    """A new private feed URL token for ``user`` in the current tenant; any earlier token of
    theirs is revoked (one active feed per person per tenant). Returns the token itself, which
    is shown once and never stored. Raises PermissionDenied unless ``user`` is an active member
    holding the assessor role."""
    membership = db.session.execute(
        select(Membership).where(Membership.user_id == user.id, Membership.is_active)
        .with_for_update()).scalar_one_or_none()
    if membership is None or not membership.has_any_role(Role.assessor):
        raise PermissionDenied(_("Only assessors of this body have a calendar feed."))
    _revoke_all(user.id, "replaced")
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = CalendarToken(user_id=user.id, token_hash=hash_token(raw))
    db.session.add(token)
    db.session.flush()
    # The hash is not recorded either: the audit trail is readable by admins.
    audit.record("calendar.token_created", token, changes={"user_id": [None, user.id]})
    return raw


def revoke_feed_token(user: User) -> CalendarToken:
    """Revoke ``user``'s feed URL in the current tenant: calendars subscribed to it stop
    updating at once. Raises Conflict when there is no active feed URL."""
    revoked = _revoke_all(user.id, "revoked")
    if not revoked:
        raise Conflict(_("You have no calendar feed URL to revoke."), code="no_feed_token")
    return revoked[0]


@dataclass(frozen=True)
class FeedOwner:
    tenant: Tenant
    user_id: int
    user_name: str


def feed_owner(raw: str) -> FeedOwner | None:
    """Whose feed ``raw`` opens, or None: an unknown or revoked token, an inactive tenant or
    account, or a person who is no longer an active member holding the assessor role there.

    The one lookup outside a tenant (the token names the tenant), so it opts out of the tenant
    filter explicitly; the caller then runs the feed inside ``tenant_scope(owner.tenant)``.
    One query, matched by the token's hash through a unique index.
    """
    if not _TOKEN_RE.match(raw or ""):
        return None
    is_assessor = (select(Membership.id)
                   .join(MembershipRole, MembershipRole.membership_id == Membership.id)
                   .where(Membership.user_id == CalendarToken.user_id,
                          Membership.tenant_id == CalendarToken.tenant_id,
                          Membership.is_active, MembershipRole.role == Role.assessor.value)
                   .exists())
    row = db.session.execute(
        select(Tenant, CalendarToken.user_id, User.name)
        .join(Tenant, Tenant.id == CalendarToken.tenant_id)
        .join(User, User.id == CalendarToken.user_id)
        .where(CalendarToken.token_hash == hash_token(raw), CalendarToken.revoked_at.is_(None),
               Tenant.is_active, User.is_active_account, is_assessor)
        .execution_options(**{ALL_TENANTS: True})).first()
    if row is None:
        return None
    return FeedOwner(row[0], row[1], row[2])


# -- the iCalendar feed -------------------------------------------------------------------------


def feed_entries(user_id: int, *, today: date) -> list[Entry]:
    """The person's assignments in the current tenant for the feed: those ending within the
    last ``FEED_PAST_DAYS`` days or later, cancelled ones included (so calendars drop them)."""
    rows = db.session.execute(
        _assignment_stmt(user_id)
        .where(Assessment.planned_end_on >= today - timedelta(days=FEED_PAST_DAYS))
        .order_by(Assessment.planned_start_on, Assessment.id).limit(FEED_MAX_EVENTS)).all()
    return [_assignment(r) for r in rows]


_POSTCODE_TOKEN = re.compile(r"\d")


def city_of(address: str | None) -> str | None:
    """The town of a free-text address: its last part ("12 Volta Road, Newtown NT3 9CD" →
    "Newtown"), without the postcode. Street lines are never returned: an address of one part
    gives None, so nothing but a town reaches a calendar."""
    parts = [p.strip() for p in re.split(r"[,\n]", address or "") if p.strip()]
    while len(parts) > 1:
        words = [w for w in parts[-1].split() if not _POSTCODE_TOKEN.search(w)]
        if words:
            return " ".join(words)
        parts.pop()  # a line that is only a postcode
    return None


def cities(entries: Sequence[Entry]) -> dict[tuple[int, str], str]:
    """``(cab_id, location code) → "Town, CC"`` for the locations the entries visit (one
    query, none without entries)."""
    cab_ids = {e.cab_id for e in entries if e.location_codes}
    if not cab_ids:
        return {}
    out = {}
    for cab_id, code, address, country in db.session.execute(
            select(CabLocation.cab_id, CabLocation.code, CabLocation.address,
                   CabLocation.country).where(CabLocation.cab_id.in_(cab_ids))).all():
        town = city_of(address)
        out[(cab_id, code)] = f"{town}, {country}" if town else country
    return out


def event_uid(assessment_id: int, user_id: int, tenant: Tenant) -> str:
    """Stable per assessment and person, so a calendar updates an event rather than adding one."""
    return f"assessment-{assessment_id}-user-{user_id}@{tenant.slug}.accreditor"


def build_ics(entries: Sequence[Entry], *, tenant: Tenant, user_id: int, user_name: str,
              places: dict[tuple[int, str], str], link) -> bytes:
    """The iCalendar (RFC 5545) text of ``entries``: all-day events over the planned dates.
    ``link(assessment_id)`` gives the assessment page's address."""
    from icalendar import Calendar, Event

    from accreditor.assessments.forms import MODE_LABELS, ROLE_LABELS, STATUS_LABELS, TYPE_LABELS

    cal = Calendar()
    cal.add("prodid", "-//Accreditor//Assessment calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("%(ab)s: assessments of %(name)s", ab=tenant.name,
                              name=user_name))
    stamp = utcnow()
    for e in entries:
        type_label = str(TYPE_LABELS.get(e.type, e.type))
        ev = Event()
        ev.add("uid", event_uid(e.id, user_id, tenant))
        ev.add("dtstamp", stamp)
        ev.add("dtstart", e.start)
        ev.add("dtend", e.end + timedelta(days=1))  # all-day: DTEND is the day after
        ev.add("summary", f"{type_label}: {e.cab_name}")
        if e.mode == AssessmentMode.remote.value:
            where = _("Remote")
        else:
            towns = list(dict.fromkeys(places[(e.cab_id, c)] for c in e.location_codes
                                       if (e.cab_id, c) in places))
            where = "; ".join(towns)
            if where and e.mode == AssessmentMode.hybrid.value:
                where = _("%(places)s (hybrid)", places=where)
        if where:
            ev.add("location", where)
        ev.add("status", "CANCELLED" if e.is_cancelled else "CONFIRMED" if e.status not in (
            AssessmentStatus.draft.value, AssessmentStatus.team_proposed.value) else "TENTATIVE")
        ev.add("categories", [type_label])
        url = link(e.id)
        lines = [
            _("Your role: %(r)s", r=ROLE_LABELS.get(e.role, e.role or "-")),
            _("Programme: %(p)s", p=e.programme_code),
            _("Mode: %(m)s", m=MODE_LABELS.get(e.mode, e.mode)),
            _("Status: %(s)s", s=STATUS_LABELS.get(e.status, e.status)),
            url,
        ]
        ev.add("description", "\n".join(str(x) for x in lines))
        ev.add("url", url)
        cal.add_component(ev)
    return cal.to_ical()
