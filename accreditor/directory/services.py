"""Publishing accreditations to the public directory, and reading it.

``publish(acc, decision=None)`` runs in the caller's transaction (``decisions.record_decision``
calls it after every decision; ``flask directory rebuild`` calls it for every accreditation). It
copies from the accreditation only what the AB publishes (17011 7.8.1, DOMAIN.md §4.2):

* rule 26 — nothing is written unless the entry would be complete: accreditation number, legal
  name, an address/location, standard with edition, scope lines, a public status, the effective
  (initial grant) date and a schedule issue (number and date). Otherwise the older entry stays
  as it was, ``None`` is returned and ``directory.incomplete`` names what is missing — unless
  the public status changed: then the status and its history are always written, and a missing
  location, name or scope is taken from the entry as last published (an ended entry shows its
  last lines as ended; ``kept_from_previous`` in the audit says what was kept);
* inactive (rule 22) is a public status: the entry says "Inactive", lines kept;
* applicants, refused and lapsed accreditations are never published;
* rule 20 — suspended lines are published as suspended beside the accredited ones, and the
  entry says "partially suspended";
* rule 27 — withdrawn, resigned (voluntarily withdrawn) and expired entries stay, marked, until
  ``visible_until`` = end date + ``TenantPolicy.directory_retention_months``.

The status history is derived from the schedule issues (each records the status it was issued
with, and the decision behind it gives the sanction type), so a rebuild produces the same
history as the decisions did. A republish that changes nothing writes nothing (two digests);
when the lines changed they are replaced with one DELETE and one multi-row INSERT.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import and_, delete, func, insert, or_, select

from accreditor.cabs.models import Cab, CabContact, CabLocation
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.decisions.models import Decision, ScheduleVersion
from accreditor.directory import exports, search
from accreditor.directory.models import (
    ENDED_STATUSES,
    DirectoryEntry,
    DirectoryEvent,
    DirectoryLine,
    PublicStatus,
)
from accreditor.extensions import db
from accreditor.refdata.models import Programme, ScopeType, StandardEdition
from accreditor.scopes.models import Accreditation, ItemStatus, ScopeEvent, ScopeItem
from accreditor.scopes.schemas import SCHEMAS
from accreditor.tenants.models import TenantPolicy

# What rule 26 asks for, in the order the refusal lists it.
REQUIRED = ("number", "legal_name", "location", "standard_edition", "scope", "status",
            "effective_date", "schedule")

LIVE_LINE_STATUSES = (ItemStatus.accredited.value, ItemStatus.suspended.value)
# An ended accreditation publishes the lines it ended with, marked as such.
ENDED_LINE_STATUSES = (ItemStatus.withdrawn.value, ItemStatus.expired.value)
SUSPENDED = (PublicStatus.suspended.value, PublicStatus.partially_suspended.value)
SEARCH_SCOPE_WORDS = 3000  # distinct scope words kept in search_text


@dataclass
class Outcome:
    """What one publish did: ``published`` (written), ``unchanged``, ``incomplete`` (rule 26,
    ``missing`` says why) or ``not_public`` (an applicant, refused or lapsed accreditation)."""

    result: str
    entry: DirectoryEntry | None = None
    missing: tuple[str, ...] = ()


def publish(accreditation, *, decision=None):
    """Write (or refresh) the accreditation's public directory entry from its current state, in
    the caller's transaction; returns the entry, or None when nothing is published (rule 26
    incompleteness is audited as ``directory.incomplete``)."""
    return publish_outcome(accreditation, decision=decision).entry


def publish_outcome(accreditation, *, decision=None, today: date | None = None) -> Outcome:
    """``publish`` with what happened (the rebuild command counts it)."""
    acc_id = accreditation.id
    row = db.session.execute(
        select(Accreditation.number, Accreditation.status, Accreditation.cab_id,
               Accreditation.ib_type, Accreditation.initial_grant_on,
               Accreditation.cycle_end_on, Accreditation.expiry_on,
               Cab.legal_name, Cab.trading_names, Cab.country, Cab.website,
               Programme.code, Programme.name, Programme.standard, Programme.scope_type,
               StandardEdition.edition)
        .join(Cab, Cab.id == Accreditation.cab_id)
        .join(Programme, Programme.id == Accreditation.programme_id)
        .join(StandardEdition, StandardEdition.id == Accreditation.edition_id)
        .where(Accreditation.id == acc_id)).one()
    try:
        status = PublicStatus(row.status)
    except ValueError:
        status = None
        if row.status in ("applicant", "refused", "lapsed"):
            return Outcome("not_public")  # applicants and refusals are never public
    cab_id = row.cab_id
    locations = [
        {"code": loc.code, "name": loc.name, "address": loc.address, "country": loc.country,
         "kind": loc.kind}
        for loc in db.session.execute(
            select(CabLocation.code, CabLocation.name, CabLocation.address, CabLocation.country,
                   CabLocation.kind)
            .where(CabLocation.cab_id == cab_id, CabLocation.is_active)
            .order_by(CabLocation.code))]
    contacts = [
        {"name": c.name, "position": c.position, "email": c.email, "phone": c.phone}
        for c in db.session.execute(
            select(CabContact.name, CabContact.position, CabContact.email, CabContact.phone)
            .where(CabContact.cab_id == cab_id, CabContact.is_public)
            .order_by(CabContact.id))]
    versions = db.session.execute(
        select(ScheduleVersion.issue_no, ScheduleVersion.issued_on, ScheduleVersion.status,
               Decision.kind, Decision.suspension_type)
        .outerjoin(Decision, Decision.id == ScheduleVersion.decision_id)
        .where(ScheduleVersion.accreditation_id == acc_id)
        .order_by(ScheduleVersion.issue_no)).all()
    ended = status is not None and status in ENDED_STATUSES
    lines = _lines(acc_id, row.scope_type, ENDED_LINE_STATUSES if ended else LIVE_LINE_STATUSES)
    entry = db.session.execute(select(DirectoryEntry).where(
        DirectoryEntry.accreditation_id == acc_id)).scalar_one_or_none()
    legal_name = (row.legal_name or "").strip()

    def _missing() -> list[str]:
        return [name for name, ok in (
            ("number", bool(row.number)),
            ("legal_name", bool(legal_name)),
            ("location", bool(locations)),
            ("standard_edition", bool(row.standard and row.edition)),
            ("scope", bool(lines)),
            ("status", status is not None),
            ("effective_date", row.initial_grant_on is not None),
            ("schedule", bool(versions)),
        ) if not ok]

    missing = _missing()
    fallback: list[str] = []
    if missing and entry is not None and status is not None and entry.status != status.value:
        # The status changed (suspended, inactive, withdrawn…): the public must see it even
        # though a detail is missing now (every line reduced, the locations closed). The entry
        # keeps the locations and lines it last published — an ended entry's marked ended.
        if "location" in missing and entry.locations:
            locations, fallback = list(entry.locations), [*fallback, "location"]
        if "legal_name" in missing and entry.legal_name:
            legal_name, fallback = entry.legal_name, [*fallback, "legal_name"]
        if "scope" in missing:
            lines = _previous_lines(entry.id, status)
            if lines:
                fallback.append("scope")
        missing = _missing()
    if missing:
        audit.record("directory.incomplete", accreditation, object_type="Accreditation",
                     object_id=acc_id, changes={"missing": [None, missing]})
        return Outcome("incomplete", missing=tuple(missing))

    events = _history(versions, status, row.initial_grant_on)
    status_since = events[-1]["occurred_on"]
    if status_since is None:  # the status changed without a schedule issue (an expiry)
        status_since = _status_date(acc_id, status, row.expiry_on, decision, today)
        events[-1]["occurred_on"] = status_since
    ended_on = status_since if ended else None
    retention = TenantPolicy.current().directory_retention_months
    sanction = None
    if status.value in SUSPENDED:
        sanction = _current_sanction(acc_id) or next(  # lines suspended before decisions
            (v.suspension_type for v in reversed(versions)
             if v.kind == "suspend" and v.suspension_type), None)
    latest = versions[-1]
    header = {
        "cab_id": cab_id, "number": row.number, "legal_name": legal_name,
        "trading_names": list(row.trading_names or []), "country": row.country,
        "website": row.website, "locations": locations, "contacts": contacts,
        "programme_code": row.code, "programme_name": row.name, "scope_type": row.scope_type,
        "standard": row.standard, "edition": row.edition, "ib_type": row.ib_type,
        "status": status.value, "status_since": status_since, "sanction_type": sanction,
        "lines_total": len(lines),
        "lines_suspended": sum(1 for line in lines if line["status"] == "suspended"),
        "initial_grant_on": row.initial_grant_on, "cycle_end_on": row.cycle_end_on,
        "expiry_on": row.expiry_on, "schedule_issue_no": latest.issue_no,
        "schedule_issued_on": latest.issued_on, "ended_on": ended_on,
        "visible_until": ended_on + relativedelta(months=retention) if ended_on else None,
    }
    header["search_text"] = _search_text(header, lines)
    digest = _digest({**header, "events": events})
    lines_digest = _digest(lines)

    if entry is not None and entry.digest == digest and entry.lines_digest == lines_digest:
        return Outcome("unchanged", entry)
    before = None if entry is None else {
        "status": entry.status, "schedule_issue_no": entry.schedule_issue_no,
        "lines": entry.lines_total, "visible_until": entry.visible_until}
    if entry is None:
        entry = DirectoryEntry(accreditation_id=acc_id, lines_digest="")
        db.session.add(entry)
    for key, value in header.items():
        setattr(entry, key, value)
    entry.digest = digest
    entry.published_at = utcnow()
    db.session.flush()
    # Plain locals: attribute access on a just-flushed entry is not free, 2,000 times over.
    entry_id, tenant_id = entry.id, entry.tenant_id
    if entry.lines_digest != lines_digest:
        for line in lines:  # in place: the digest is taken, no second copy of 2,000 dicts
            line["entry_id"], line["tenant_id"] = entry_id, tenant_id
        _replace(DirectoryLine, entry_id, lines)
        entry.lines_digest = lines_digest
    _replace(DirectoryEvent, entry_id, [
        {**ev, "entry_id": entry_id, "tenant_id": tenant_id} for ev in events])
    db.session.flush()
    after = {"status": entry.status, "schedule_issue_no": entry.schedule_issue_no,
             "lines": entry.lines_total, "visible_until": entry.visible_until}
    changes = {k: [None if before is None else before[k], v] for k, v in after.items()
               if before is None or before[k] != v}
    if decision is not None:
        changes["decision_id"] = [None, decision.id]
    if fallback:
        changes["kept_from_previous"] = [None, fallback]
    audit.record("directory.published", entry, changes=changes)
    search.index_entry(entry, lines)
    exports.after_publish(tenant_id)
    return Outcome("published", entry)


def public_field_names(scope_type: str) -> list[str]:
    """The programme's schedule field names: all a public line may carry of its fields."""
    try:
        return [f.name for f in SCHEMAS[ScopeType(scope_type)]]
    except (KeyError, ValueError):
        return []


def _lines(acc_id: int, scope_type: str, statuses: tuple[str, ...]) -> list[dict]:
    """The public lines: position, status, summary and the programme's schedule fields only."""
    names = public_field_names(scope_type)
    rows = db.session.execute(
        select(ScopeItem.position, ScopeItem.status, ScopeItem.summary, ScopeItem.fields)
        .where(ScopeItem.accreditation_id == acc_id, ScopeItem.status.in_(statuses))
        .order_by(ScopeItem.position, ScopeItem.id)).all()
    out = []
    for position, status, summary, fields in rows:
        fields = fields or {}
        out.append({"position": position, "status": status, "summary": summary or "",
                    "fields": {k: fields[k] for k in names if k in fields}})
    return out


def _previous_lines(entry_id: int, status: PublicStatus) -> list[dict]:
    """The lines the entry last published, for a status change that leaves none to publish
    (every line reduced before the withdrawal): an ended entry shows them ended."""
    ended_as = {PublicStatus.expired: ItemStatus.expired.value}.get(
        status, ItemStatus.withdrawn.value) if status in ENDED_STATUSES else None
    return [{"position": p, "status": ended_as or s, "summary": summary, "fields": fields or {}}
            for p, s, summary, fields in db.session.execute(
                select(DirectoryLine.position, DirectoryLine.status, DirectoryLine.summary,
                       DirectoryLine.fields).where(DirectoryLine.entry_id == entry_id)
                .order_by(DirectoryLine.position, DirectoryLine.id))]


def _current_sanction(acc_id: int) -> str | None:
    """The type of the newest suspension under which a line is still suspended (a line
    reinstated from a later suspension leaves the earlier one in force)."""
    from accreditor.decisions.services import _still_under_stmt

    under = _still_under_stmt(acc_id).subquery()
    return db.session.execute(
        select(Decision.suspension_type).where(Decision.id.in_(select(under.c.decision_id)),
                                               Decision.suspension_type.is_not(None))
        .order_by(Decision.id.desc()).limit(1)).scalar_one_or_none()


def republish_cab(cab_id: int) -> int:
    """Refresh the published entries of a CAB after its public details changed (name,
    locations, public contacts), in the caller's transaction; how many were rewritten. Only
    accreditations already in the directory are looked at; an unchanged one writes nothing."""
    accs = db.session.execute(select(Accreditation).join(
        DirectoryEntry, DirectoryEntry.accreditation_id == Accreditation.id).where(
        Accreditation.cab_id == cab_id).order_by(Accreditation.id)).scalars().all()
    return sum(1 for acc in accs if publish_outcome(acc).result == "published")


def republish(accreditation) -> None:
    """Refresh the accreditation's entry if it has one (its details changed)."""
    if db.session.execute(select(DirectoryEntry.id).where(
            DirectoryEntry.accreditation_id == accreditation.id)).first() is not None:
        publish_outcome(accreditation)


def _history(versions, status: PublicStatus, initial_grant_on: date) -> list[dict]:
    """Status changes in public words, from the schedule issues (each carries the status it was
    issued with); a final change without an issue (an expiry) gets its date afterwards. A grant
    always makes the accreditation "accredited": when no issue recorded that (data from before
    schedule versions), the history starts with the initial grant."""
    events: list[dict] = []
    prev = None
    if versions[0].status != PublicStatus.accredited.value:
        events.append({"occurred_on": initial_grant_on, "from_status": None,
                       "to_status": PublicStatus.accredited.value, "sanction_type": None})
        prev = PublicStatus.accredited.value
    for v in versions:
        if v.status not in PublicStatus.__members__ or v.status == prev:
            continue
        events.append({"occurred_on": v.issued_on, "from_status": prev, "to_status": v.status,
                       "sanction_type": v.suspension_type if v.kind == "suspend" else None})
        prev = v.status
    if prev != status.value:
        events.append({"occurred_on": None, "from_status": prev, "to_status": status.value,
                       "sanction_type": None})
    return events


def _status_date(acc_id: int, status: PublicStatus, expiry_on, decision, today) -> date:
    """When the current status began, for a change no schedule issue recorded."""
    line_status = {PublicStatus.expired: ItemStatus.expired.value,
                   PublicStatus.withdrawn: ItemStatus.withdrawn.value,
                   PublicStatus.voluntarily_withdrawn: ItemStatus.withdrawn.value}.get(status)
    if line_status:
        on = db.session.execute(select(func.max(ScopeEvent.effective_on)).where(
            ScopeEvent.accreditation_id == acc_id,
            ScopeEvent.to_status == line_status)).scalar_one_or_none()
        if on is not None:
            return on
    if status == PublicStatus.expired and expiry_on is not None:
        return expiry_on
    if decision is not None:
        return decision.effective_on
    return today or date.today()


def _replace(model, entry_id: int, rows: list[dict]) -> None:
    """One DELETE and one multi-row INSERT: no per-row ORM round trips."""
    db.session.execute(delete(model).where(model.entry_id == entry_id)
                       .execution_options(synchronize_session=False))
    if rows:
        db.session.execute(insert(model), rows)


_WORD = re.compile(r"[\w.\-/]+", re.UNICODE)


def _search_text(header: dict, lines: list[dict]) -> str:
    """Lower-cased public words: the entry's own words in full, the scope's distinct words."""
    parts = [header["number"], header["legal_name"], *header["trading_names"],
             header["programme_name"], header["programme_code"],
             f"{header['standard']}:{header['edition']}", header["country"]]
    for loc in header["locations"]:
        parts += [loc["code"], loc["name"], loc["address"], loc["country"]]
    seen: dict[str, None] = {}
    for line in lines:
        for word in _WORD.findall(line["summary"].lower()):
            if len(seen) >= SEARCH_SCOPE_WORDS:
                break
            seen.setdefault(word, None)
    return " ".join(" ".join(str(p or "") for p in parts).lower().split() + list(seen))


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str,
                                     separators=(",", ":")).encode()).hexdigest()


# -- reading (public pages) ----------------------------------------------------------------------

LIST_PAGE_SIZE = 50
LINES_PAGE_SIZE = 100


def _visible(today: date):
    return or_(DirectoryEntry.visible_until.is_(None), DirectoryEntry.visible_until >= today)


def visible_entry(number: str, *, today: date | None = None) -> DirectoryEntry | None:
    """The current tenant's published entry with this number, unless its retention ended."""
    today = today or date.today()
    return db.session.execute(select(DirectoryEntry).where(
        DirectoryEntry.number == number, _visible(today))).scalar_one_or_none()


# Who is "under sanction" (UKAS's list, rule 27): suspended in full or in part, and bodies
# withdrawn or resigned while their entry stays listed (the tenant's retention).
SANCTIONED = (PublicStatus.suspended.value, PublicStatus.partially_suspended.value)
ENDED_BY_SANCTION = (PublicStatus.withdrawn.value, PublicStatus.voluntarily_withdrawn.value)


def sanctioned_entries(page: int, *, today: date | None = None,
                       per_page: int = LIST_PAGE_SIZE) -> tuple[list[DirectoryEntry], int]:
    """One page of the current tenant's bodies under sanction, latest change first, and how
    many there are: current suspensions (full or partial) and withdrawals and resignations
    still within the retention period."""
    today = today or date.today()
    where = or_(DirectoryEntry.status.in_(SANCTIONED),
                and_(DirectoryEntry.status.in_(ENDED_BY_SANCTION), _visible(today)))
    total = db.session.execute(select(func.count(DirectoryEntry.id)).where(where)).scalar_one()
    entries = list(db.session.execute(
        select(DirectoryEntry).where(where)
        .order_by(DirectoryEntry.status_since.desc(), DirectoryEntry.legal_name)
        .limit(per_page).offset((page - 1) * per_page)).scalars())
    return entries, total


def entry_lines(entry: DirectoryEntry, page: int, *, suspended_only: bool = False,
                per_page: int = LINES_PAGE_SIZE) -> tuple[list[DirectoryLine], int]:
    """One page of the entry's lines (counts come from the entry: no COUNT query)."""
    stmt = select(DirectoryLine).where(DirectoryLine.entry_id == entry.id)
    total = entry.lines_total
    if suspended_only:
        stmt = stmt.where(DirectoryLine.status == ItemStatus.suspended.value)
        total = entry.lines_suspended
    lines = list(db.session.execute(
        stmt.order_by(DirectoryLine.position, DirectoryLine.id)
        .limit(per_page).offset((page - 1) * per_page)).scalars())
    return lines, total


def entry_history(entry: DirectoryEntry) -> list[DirectoryEvent]:
    return list(db.session.execute(select(DirectoryEvent).where(
        DirectoryEvent.entry_id == entry.id).order_by(DirectoryEvent.occurred_on.desc(),
                                                      DirectoryEvent.id.desc())).scalars())


# -- rebuild ----------------------------------------------------------------------------------------


def rebuild(*, today: date | None = None) -> dict[str, int]:
    """Republish every accreditation of the current tenant (idempotent): counts by outcome."""
    counts = {"published": 0, "unchanged": 0, "incomplete": 0, "not_public": 0}
    accs = db.session.execute(select(Accreditation).order_by(Accreditation.id)).scalars().all()
    for acc in accs:
        counts[publish_outcome(acc, today=today).result] += 1
    return counts


# -- verification (/verify and the API) -----------------------------------------------------------


@dataclass
class Verification:
    """The answer to "was this number accredited on that date?": ``candidates`` (slug, name)
    when several ABs use the number and none was named; otherwise ``entry`` and ``tenant`` (or
    neither: not found), the lines accredited on ``on`` and the public status then."""

    number: str
    on: date
    entry: DirectoryEntry | None = None
    tenant: object | None = None
    candidates: list[tuple[str, str]] | None = None
    lines: list = None  # rows (position, summary, fields) accredited on ``on``, all of them
    status_on: str | None = None  # the public status on ``on`` (None before the first grant)

    @property
    def found(self) -> bool:
        return self.entry is not None

    @property
    def accredited(self) -> bool:
        return bool(self.lines)


def verify_number(number: str, on: date, *, ab: str | None = None) -> Verification:
    """Look the number up among published entries of active tenants (also those whose listing
    ended: rule 27) and answer from the scope history (``scope_as_of``). Runs in no tenant's
    scope; reads the one accreditation found inside its tenant's."""
    from accreditor.core.tenancy import ALL_TENANTS, tenant_scope
    from accreditor.scopes.services import scope_rows_as_of
    from accreditor.tenants.models import Tenant

    answer = Verification(number=number, on=on, lines=[])
    if not number or "\x00" in number or (ab and "\x00" in ab):
        return answer  # no accreditation number holds a NUL (PostgreSQL refuses it in text)
    stmt = (select(DirectoryEntry, Tenant).join(Tenant, Tenant.id == DirectoryEntry.tenant_id)
            .where(DirectoryEntry.number == number, Tenant.is_active)
            .order_by(Tenant.name).execution_options(**{ALL_TENANTS: True}))
    if ab:
        stmt = stmt.where(Tenant.slug == ab)
    found = db.session.execute(stmt.limit(20)).all()
    if len(found) > 1:
        answer.candidates = [(t.slug, t.name) for _e, t in found]
        return answer
    if not found:
        return answer
    entry, tenant = found[0]
    answer.entry, answer.tenant = entry, tenant
    with tenant_scope(tenant):
        answer.lines = scope_rows_as_of(entry.accreditation_id, on)
        answer.status_on = db.session.execute(
            select(DirectoryEvent.to_status).where(DirectoryEvent.entry_id == entry.id,
                                                   DirectoryEvent.occurred_on <= on)
            .order_by(DirectoryEvent.occurred_on.desc(), DirectoryEvent.id.desc())
            .limit(1)).scalar_one_or_none()
    return answer
