"""Use cases for accreditations and their scopes: numbers, scope lines, status changes, history.

The status-changing functions (grant, suspend, reinstate, reduce, withdraw) are the ones the
decisions capability calls; each writes a ScopeEvent per item and an audit event.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Row,
    String,
    Text,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm.attributes import set_committed_value

from accreditor.core import audit
from accreditor.core.csvfile import formula_safe, unquote_formula
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, NotFound, ValidationFailed
from accreditor.core.permissions import acting_user
from accreditor.extensions import db
from accreditor.refdata import services as refdata
from accreditor.refdata.models import Programme, ScopeType, StandardEdition, TermKind
from accreditor.scopes import schemas
from accreditor.scopes.models import (
    ITEM_TRANSITIONS,
    LIVE_STATUSES,
    Accreditation,
    AccreditationStatus,
    IbType,
    ItemStatus,
    NumberCounter,
    ReasonCode,
    ScopeEvent,
    ScopeItem,
)
from accreditor.tenants.models import TenantPolicy

MAX_CYCLE = relativedelta(years=5)


class ScopeLineInvalid(ValidationFailed):
    """A scope line failed validation; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]):
        first = next(iter(errors.items()))
        super().__init__(f"{first[0]}: {first[1]}", field=first[0])
        self.errors = errors


# -- reading ----------------------------------------------------------------------------------


def validation_context(accreditation: Accreditation) -> schemas.Context:
    from accreditor.cabs.models import CabLocation

    cache: dict[TermKind, dict] = {}

    def terms(kind: TermKind) -> dict:
        if kind not in cache:
            cache[kind] = refdata.terms(kind)
        return cache[kind]

    codes = set(db.session.execute(
        select(CabLocation.code).where(CabLocation.cab_id == accreditation.cab_id,
                                       CabLocation.is_active)
    ).scalars())
    return schemas.Context(
        terms=terms,
        ms_standards={s.label: s for s in refdata.ms_standards()},
        location_codes=codes,
    )


def term_namer(ctx: schemas.Context):
    def name(kind: TermKind, code: str) -> str:
        term = ctx.terms(kind).get(code)
        return term.name if term is not None else code

    return name


def scope_type_of(accreditation: Accreditation) -> ScopeType:
    return ScopeType(accreditation.programme.scope_type)


# -- what staff see of a CAB's drafts -----------------------------------------------------------
# A draft application is the CAB's own until it is submitted (applications/models.py): its
# requested lines, and the applicant accreditation an initial draft opened, stay off the staff
# pages. Both conditions are SQL, so the pages fold them into the queries they already run.


def _draft_application_ids():
    from accreditor.applications.models import Application, ApplicationStatus

    return select(Application.id).where(Application.status == ApplicationStatus.draft.value)


def line_visible_to_staff():
    """Condition on ScopeItem: not a requested line of a draft application."""
    return or_(ScopeItem.application_id.is_(None),
               ScopeItem.application_id.not_in(_draft_application_ids()))


def accreditation_visible_to_staff():
    """Condition on Accreditation: false only for an applicant accreditation that an initial
    draft application opened and that has nothing else yet (no submitted application, no line
    outside a draft)."""
    from accreditor.applications.models import Application, ApplicationStatus, ApplicationType

    draft = ApplicationStatus.draft.value
    opened_by_draft = exists().where(Application.accreditation_id == Accreditation.id,
                                     Application.type == ApplicationType.initial.value,
                                     Application.status == draft)
    sent = exists().where(Application.accreditation_id == Accreditation.id,
                          Application.status != draft)
    own_lines = exists().where(ScopeItem.accreditation_id == Accreditation.id,
                               line_visible_to_staff())
    return or_(Accreditation.status != AccreditationStatus.applicant.value, ~opened_by_draft,
               sent, own_lines)


def staff_accreditation(accreditation_id: int, *options) -> Accreditation | None:
    """The accreditation a staff page names, loaded with ``options`` in one statement; None for
    another tenant's and for one only a CAB's draft application has opened (the view's 404)."""
    return db.session.execute(
        select(Accreditation)
        .where(Accreditation.id == accreditation_id, accreditation_visible_to_staff())
        .options(*options)
    ).scalar_one_or_none()


def live_accreditations_for_staff(q: str, limit: int) -> list[Row]:
    """Live accreditations staff may see whose CAB name or number contains ``q`` (all when
    empty), by CAB name then programme code, at most ``limit``: rows of (Accreditation, CAB
    legal name, programme code, programme name)."""
    from accreditor.cabs.models import Cab

    stmt = (select(Accreditation, Cab.legal_name, Programme.code, Programme.name)
            .join(Cab, Cab.id == Accreditation.cab_id)
            .join(Programme, Programme.id == Accreditation.programme_id)
            .where(Accreditation.status.in_([s.value for s in LIVE_STATUSES]),
                   accreditation_visible_to_staff()))
    if q:
        stmt = stmt.where(or_(Cab.legal_name.icontains(q, autoescape=True),
                              cast(Accreditation.number, String).icontains(q, autoescape=True)))
    return list(db.session.execute(
        stmt.order_by(func.lower(Cab.legal_name), Programme.code).limit(limit)).all())


# -- accreditation numbers (rule 28) ------------------------------------------------------------


def _next(key: str) -> int:
    counter = db.session.execute(
        select(NumberCounter).where(NumberCounter.key == key).with_for_update()
    ).scalar_one_or_none()
    if counter is None:
        counter = NumberCounter(key=key, value=0)
        db.session.add(counter)
    counter.value += 1
    db.session.flush()
    return counter.value


def reserve_number(accreditation: Accreditation) -> str:
    """Give the accreditation its number from the tenant format; numbers are never reused."""
    if accreditation.number:
        return accreditation.number
    from accreditor.cabs.models import Cab

    fmt = TenantPolicy.current().accreditation_number_format
    programme: Programme = accreditation.programme
    cab = db.session.execute(select(Cab).where(Cab.id == accreditation.cab_id)).scalar_one()
    for _attempt in range(50):
        if "programme_seq" in fmt:
            if cab.org_number is None:
                cab.org_number = _next("seq")
            seq, programme_seq = cab.org_number, _next(f"cab:{cab.id}")
        else:
            seq, programme_seq = _next("seq"), 0
        number = fmt.format(seq=seq, programme=programme.number_code,
                            programme_seq=programme_seq, year=date.today().year)
        taken = db.session.execute(
            select(Accreditation.id).where(Accreditation.number == number)
        ).first()
        if not taken:
            accreditation.number = number
            db.session.flush()
            audit.record("accreditation.number_reserved", accreditation,
                         changes={"number": [None, number]})
            return number
    raise Conflict(_("Could not find a free accreditation number; check the number format."))


# -- accreditation details --------------------------------------------------------------------


def create_accreditation(cab, programme: Programme, *, edition_id: int | None = None,
                         ib_type: str | None = None) -> Accreditation:
    """Open an accreditation (status applicant) for a CAB and programme; one live per programme."""
    live = db.session.execute(
        select(Accreditation.id).where(
            Accreditation.cab_id == cab.id, Accreditation.programme_id == programme.id,
            Accreditation.status.in_([s.value for s in (AccreditationStatus.applicant,
                                                         AccreditationStatus.accredited,
                                                         AccreditationStatus.partially_suspended,
                                                         AccreditationStatus.suspended)]),
        )
    ).first()
    if live:
        raise Conflict(_("%(cab)s already has an accreditation for %(p)s; apply for an extension "
                         "instead.", cab=cab.legal_name, p=programme.name), field="programme")
    if edition_id is None:
        current = [e for e in refdata.editions(programme) if e.is_current]
        if not current:
            raise ValidationFailed(_("The programme has no current edition."), field="edition")
        edition_id = current[-1].id
    acc = Accreditation(cab_id=cab.id, programme_id=programme.id, edition_id=edition_id,
                        status=AccreditationStatus.applicant.value)
    acc.programme = programme
    if ib_type:
        acc.ib_type = IbType(ib_type).value
    db.session.add(acc)
    db.session.flush()
    audit.record("accreditation.opened", acc,
                 changes=audit.snapshot(acc, ("cab_id", "programme_id", "edition_id", "ib_type")))
    return acc


def update_accreditation(acc: Accreditation, *, ib_type: str | None, expiry_on: date | None,
                         cycle_start_on: date | None = None, cycle_end_on: date | None = None,
                         edition_id: int | None = None) -> dict:
    """Change details; expiry is optional but never after the cycle end (rule 12), and a cycle
    is at most five years (rule 7)."""
    if ib_type is not None and ib_type != "":
        try:
            ib_type = IbType(ib_type).value
        except ValueError as exc:
            raise ValidationFailed(_("The inspection body type is A, B or C."),
                                   field="ib_type") from exc
    else:
        ib_type = None
    start = cycle_start_on if cycle_start_on is not None else acc.cycle_start_on
    end = cycle_end_on if cycle_end_on is not None else acc.cycle_end_on
    if start and end:
        if end <= start:
            raise ValidationFailed(_("The cycle must end after it starts."), field="cycle_end_on")
        if end > start + MAX_CYCLE:
            raise ValidationFailed(_("An accreditation cycle is at most five years (ISO/IEC 17011 "
                                     "7.9.1)."), field="cycle_end_on")
    if expiry_on is not None and end is None:
        raise ValidationFailed(_("An expiry date can be set once the accreditation cycle has "
                                 "started (at the grant); it cannot be after the cycle end."),
                               field="expiry_on")
    if expiry_on is not None and expiry_on > end:
        raise ValidationFailed(_("The expiry date cannot be after the end of the cycle "
                                 "(%(end)s).", end=end.isoformat()), field="expiry_on")
    if edition_id is not None and edition_id != acc.edition_id:
        # Only an edition of this accreditation's own programme (the tenant filter applies).
        own = db.session.execute(
            select(StandardEdition.id).where(StandardEdition.id == edition_id,
                                             StandardEdition.programme_id == acc.programme_id)
        ).first()
        if own is None:
            raise ValidationFailed(_("Choose an edition of this programme's standard."),
                                   field="edition_id")
    acc.ib_type = ib_type
    acc.expiry_on = expiry_on
    acc.cycle_start_on, acc.cycle_end_on = start, end
    if edition_id is not None:
        acc.edition_id = edition_id
    changes = audit.diff(acc)
    if changes:
        db.session.flush()
        audit.record("accreditation.updated", acc, changes=changes)
        from accreditor.decisions.services import reissue_if_details_changed
        from accreditor.directory import services as directory

        reissue_if_details_changed(acc)  # rule 28: edition, IB type, dates are on the schedule
        directory.republish(acc)  # … and public (an unchanged one: no-op)
    return changes


# -- scope lines ------------------------------------------------------------------------------


def _require_editable(acc: Accreditation, item: ScopeItem | None = None) -> None:
    if item is not None and item.accreditation_id != acc.id:
        raise NotFound(_("This scope line is not part of this accreditation."))
    if item is not None and item.status_enum != ItemStatus.applied:
        raise Conflict(_("This line is %(s)s; lines change after the grant only through a "
                         "decision.", s=item.status))


def add_scope_item(acc: Accreditation, raw: dict, *, application_id: int | None = None,
                   ctx: schemas.Context | None = None, position: int | None = None) -> ScopeItem:
    """Add a requested line (status applied) after validating it for the programme's type.
    After the grant, new lines come only through an (extension) application."""
    if application_id is None and acc.status_enum != AccreditationStatus.applicant:
        raise Conflict(_("Lines are added before the grant; after it, an extension goes through "
                         "an application."))
    ctx = ctx or validation_context(acc)
    stype = scope_type_of(acc)
    clean, errors = schemas.validate(stype, raw, ctx)
    if errors:
        raise ScopeLineInvalid(errors)
    if position is None:
        position = (db.session.execute(
            select(func.max(ScopeItem.position)).where(ScopeItem.accreditation_id == acc.id)
        ).scalar() or 0) + 1
    item = ScopeItem(cab_id=acc.cab_id, accreditation_id=acc.id, application_id=application_id,
                     position=position, status=ItemStatus.applied.value, fields=clean,
                     summary=schemas.summary(stype, clean, term_namer(ctx)))
    db.session.add(item)
    db.session.flush()
    audit.record("scope_item.added", item, changes={"fields": [None, clean]})
    return item


def update_scope_item(item: ScopeItem, acc: Accreditation, raw: dict) -> ScopeItem:
    """Change a requested line; a line that has been decided on (accredited, suspended …)
    changes only through a decision (Conflict)."""
    _require_editable(acc, item)
    ctx = validation_context(acc)
    stype = scope_type_of(acc)
    clean, errors = schemas.validate(stype, raw, ctx)
    if errors:
        raise ScopeLineInvalid(errors)
    before = dict(item.fields)
    item.fields = clean
    item.summary = schemas.summary(stype, clean, term_namer(ctx))
    if before != clean:
        db.session.flush()
        audit.record("scope_item.updated", item, changes={"fields": [before, clean]})
    return item


def remove_scope_item(item: ScopeItem, acc: Accreditation) -> None:
    """Remove a line that was never accredited (before the grant); afterwards only a decision
    (reduction) removes lines, keeping their history."""
    _require_editable(acc, item)
    audit.record("scope_item.removed", item, changes={"fields": [item.fields, None]})
    db.session.delete(item)
    db.session.flush()


# -- CSV import and export --------------------------------------------------------------------


@dataclass
class ImportResult:
    rows: list[dict] = field(default_factory=list)  # cleaned fields per valid row
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, column, message)
    summaries: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the CSV line each valid row starts on

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


MAX_IMPORT_ROWS = 5000

def _is_number(text: str) -> bool:
    return schemas._decimal(text) is not None


def _export_cell(value: str) -> str:
    return formula_safe(value, is_number=_is_number)


def csv_columns(acc: Accreditation) -> list[schemas.FieldSpec]:
    """The columns a scope CSV of this accreditation has (export, import and the template)."""
    return list(schemas.SCHEMAS[scope_type_of(acc)])


def parse_scope_csv(acc: Accreditation, text: str) -> ImportResult:
    """Validate every row; nothing is written. Errors name the CSV line (the header is line 1,
    counted as a spreadsheet shows it, blank lines included) and the column."""
    ctx = validation_context(acc)
    stype = scope_type_of(acc)
    specs = schemas.SCHEMAS[stype]
    names = [s.name for s in specs]
    result = ImportResult()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header: list[str] = []
    header_line = 0
    try:
        for row in reader:  # the first non-blank line is the header
            if any(c.strip() for c in row):
                header = [c.strip() for c in row]
                header_line = reader.line_num
                break
    except csv.Error as exc:
        result.errors.append((reader.line_num or 1, "-",
                              _("The CSV is malformed here: %(e)s.", e=str(exc))))
        return result
    missing = [s.name for s in specs if s.required and s.name not in header]
    if missing:
        result.errors.append((header_line or 1, ", ".join(missing),
                              _("Missing column(s). Expected columns: %(c)s.", c=", ".join(names))))
        return result
    unknown = [h for h in header if h and h not in names and h != "status"]
    if unknown:
        result.errors.append((header_line, ", ".join(unknown),
                              _("Unknown column(s). Expected columns: %(c)s.", c=", ".join(names))))
        return result
    namer = term_namer(ctx)
    count = 0
    while True:
        line_no = reader.line_num + 1  # where the next record starts
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append((line_no, "-", _("The CSV is malformed here: %(e)s.", e=str(exc))))
            break
        if not any(v.strip() for v in values):
            continue
        count += 1
        if count > MAX_IMPORT_ROWS:
            result.errors.append((line_no, "-", _("At most %(n)d rows per import.",
                                                  n=MAX_IMPORT_ROWS)))
            break
        if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
            result.errors.append((line_no, "-", _(
                "This row has %(n)d values but the header has %(m)d columns; put values that "
                "contain a comma in double quotes.", n=len(values), m=len(header))))
            continue
        row = {h: unquote_formula(v) for h, v in zip(header, values, strict=False) if h}
        clean, errors = schemas.validate(stype, row, ctx)
        for column, message in errors.items():
            result.errors.append((line_no, column, message))
        if not errors:
            result.rows.append(clean)
            result.summaries.append(schemas.summary(stype, clean, namer))
            result.lines.append(line_no)
    if not result.rows and not result.errors:
        result.errors.append((1, "-", _("The file has no scope lines.")))
    return result


def import_scope_csv(acc: Accreditation, text: str) -> ImportResult:
    """Import all rows as applied lines, or none if any row is invalid."""
    if acc.status_enum != AccreditationStatus.applicant:
        raise Conflict(_("Lines are imported before the grant; after it, extensions go through "
                         "an application."))
    result = parse_scope_csv(acc, text)
    if not result.ok:
        return result
    stype = scope_type_of(acc)
    start = (db.session.execute(
        select(func.max(ScopeItem.position)).where(ScopeItem.accreditation_id == acc.id)
    ).scalar() or 0)
    items = [
        ScopeItem(cab_id=acc.cab_id, accreditation_id=acc.id, position=start + i + 1,
                  status=ItemStatus.applied.value, fields=clean, summary=summary_)
        for i, (clean, summary_) in enumerate(zip(result.rows, result.summaries, strict=True))
    ]
    db.session.add_all(items)
    db.session.flush()
    audit.record("scope.imported", acc, changes={"lines": [None, len(items)],
                                                 "scope_type": [None, stype.value]})
    return result


def export_scope_csv(acc: Accreditation) -> str:
    """The scope as CSV (one row per line, in schedule order, with its status; not the lines of
    a CAB's draft application); the same columns the import reads, so an export can be imported
    again."""
    names = [s.name for s in csv_columns(acc)]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*names, "status"])
    rows = db.session.execute(
        select(ScopeItem.fields, ScopeItem.status).where(ScopeItem.accreditation_id == acc.id,
                                                         line_visible_to_staff())
        .order_by(ScopeItem.position, ScopeItem.id)
    )
    for fields_, status in rows:
        writer.writerow([
            _export_cell("; ".join(fields_[n]) if isinstance(fields_.get(n), list)
                         else str(fields_.get(n, "")))
            for n in names
        ] + [status])
    return buf.getvalue()


# -- status changes (called by decisions) -------------------------------------------------------


def _items(acc: Accreditation, item_ids: list[int] | None) -> list[ScopeItem]:
    stmt = select(ScopeItem).where(ScopeItem.accreditation_id == acc.id)
    if item_ids is not None:
        stmt = stmt.where(ScopeItem.id.in_(item_ids))
    items = list(db.session.execute(stmt.order_by(ScopeItem.position)).scalars())
    if item_ids is not None and len(items) != len(set(item_ids)):
        raise ValidationFailed(_("Some scope lines are not part of this accreditation."),
                               field="items")
    return items


def change_items(acc: Accreditation, items: list[ScopeItem], to: ItemStatus, *,
                 effective_on: date, reason_code: ReasonCode, reason: str | None = None,
                 decision_id: int | None = None) -> int:
    """Move items to ``to`` (checked against ITEM_TRANSITIONS), one ScopeEvent each; returns how
    many."""
    if not items:
        raise ValidationFailed(_("Name at least one scope line."), field="items")
    bad = [i for i in items if to not in ITEM_TRANSITIONS[i.status_enum]]
    if bad:
        raise Conflict(_("Line %(n)s is %(s)s and cannot become %(t)s.",
                         n=bad[0].position, s=bad[0].status, t=to.value))
    actor_id = getattr(acting_user(), "id", None)
    db.session.flush()
    now = utcnow()
    ids = [i.id for i in items]
    events = ScopeEvent.__table__
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        # The events first (each line's status before), copied by the database from the lines:
        # one INSERT … SELECT instead of 2,000 rows of parameters. The lines were loaded through
        # the tenant filter; the SELECT repeats the tenant for the same guarantee.
        db.session.execute(events.insert().from_select(
            ["tenant_id", "cab_id", "accreditation_id", "scope_item_id", "from_status",
             "to_status", "effective_on", "reason_code", "reason", "decision_id", "actor_id",
             "created_at"],
            select(ScopeItem.tenant_id, ScopeItem.cab_id, ScopeItem.accreditation_id,
                   ScopeItem.id, ScopeItem.status, literal(to.value, String(20)),
                   literal(effective_on, Date()), literal(reason_code.value, String(30)),
                   literal(reason, Text()), literal(decision_id, Integer()),
                   literal(actor_id, Integer()), literal(now, DateTime(timezone=True)))
            .where(ScopeItem.id.in_(chunk), ScopeItem.accreditation_id == acc.id,
                   ScopeItem.tenant_id == acc.tenant_id)))
        # Then one UPDATE per 1,000 lines instead of one per line; the loaded objects are told
        # their new values.
        db.session.execute(update(ScopeItem).where(ScopeItem.id.in_(chunk),
                                                   ScopeItem.accreditation_id == acc.id)
                           .values(status=to.value, updated_at=now)
                           .execution_options(synchronize_session=False))
    for item in items:
        set_committed_value(item, "status", to.value)
        set_committed_value(item, "updated_at", now)
    refresh_status(acc)
    audit.record(f"scope.{to.value}", acc, changes={
        "items": [None, [i.id for i in items]], "effective_on": [None, effective_on.isoformat()],
        "reason_code": [None, reason_code.value]})
    return len(ids)


def refresh_status(acc: Accreditation) -> AccreditationStatus:
    """Derive the accreditation status from its items (DOMAIN.md §4.2)."""
    counts = dict(db.session.execute(
        select(ScopeItem.status, func.count()).where(ScopeItem.accreditation_id == acc.id)
        .group_by(ScopeItem.status)
    ).all())
    accredited = counts.get(ItemStatus.accredited.value, 0)
    suspended = counts.get(ItemStatus.suspended.value, 0)
    current = acc.status_enum
    if accredited and suspended:
        new = AccreditationStatus.partially_suspended
    elif suspended:
        new = AccreditationStatus.suspended
    elif accredited:
        new = AccreditationStatus.accredited
    elif current in (AccreditationStatus.accredited, AccreditationStatus.partially_suspended,
                     AccreditationStatus.suspended, AccreditationStatus.inactive):
        new = AccreditationStatus.withdrawn  # nothing left in scope
    else:
        new = current
    if current == AccreditationStatus.inactive and new == AccreditationStatus.accredited:
        new = current  # inactive until reactivated (rule 22)
    if new != current:
        before = acc.status
        acc.status = new.value
        db.session.flush()
        audit.record("accreditation.status_changed", acc, changes={"status": [before, new.value]})
    return new


def grant(acc: Accreditation, *, effective_on: date, item_ids: list[int] | None = None,
          decision_id: int | None = None, propose: bool = True) -> int:
    """Grant (initial or extension): applied lines become accredited; the first grant starts the
    cycle and (unless ``propose`` is false — tests that build a programme by hand) completes the
    cycle programme from the tenant's policy. Refuses a 17020 grant without an IB type
    (rule 32)."""
    programme: Programme = acc.programme
    if programme.needs_ib_type and not acc.ib_type:
        raise ValidationFailed(_("An inspection body cannot be granted accreditation before its "
                                 "type (A, B or C) is recorded (ISO/IEC 17020, ILAC P15)."),
                               field="ib_type", code="ib_type_required")
    items = [i for i in _items(acc, item_ids) if i.status_enum == ItemStatus.applied]
    if not items:
        raise ValidationFailed(_("There are no requested lines to grant."), field="items")
    first_grant = acc.initial_grant_on is None
    reserve_number(acc)
    events = change_items(acc, items, ItemStatus.accredited, effective_on=effective_on,
                          reason_code=ReasonCode.grant if first_grant else ReasonCode.extension,
                          decision_id=decision_id)
    if first_grant:
        months = TenantPolicy.current().cycle_length_months
        acc.initial_grant_on = effective_on
        acc.cycle_start_on = effective_on
        acc.cycle_end_on = min(effective_on + relativedelta(months=months),
                               effective_on + MAX_CYCLE)
        db.session.flush()
        audit.record("accreditation.granted", acc, changes={
            "initial_grant_on": [None, effective_on.isoformat()],
            "cycle_end_on": [None, acc.cycle_end_on.isoformat()]})
        # The cycle now has real dates: complete its programme (visits already planned near a
        # slot are kept, so what the acceptance proposed is not duplicated) — after the commit,
        # by a job (in-process without Redis).
        if propose:
            from accreditor.assessments.programme import propose_after_grant
            from accreditor.core.jobs import enqueue_after_commit
            from accreditor.core.tenancy import current_tenant_id

            enqueue_after_commit(propose_after_grant, current_tenant_id(), acc.id,
                                 max(effective_on, date.today()).isoformat())
    return events


def suspend(acc, *, item_ids, effective_on, reason_code=ReasonCode.imposed, reason=None,
            decision_id=None):
    items = _items(acc, item_ids)
    return change_items(acc, items, ItemStatus.suspended, effective_on=effective_on,
                        reason_code=reason_code, reason=reason, decision_id=decision_id)


def reinstate(acc, *, item_ids, effective_on, reason=None, decision_id=None):
    items = _items(acc, item_ids)
    return change_items(acc, items, ItemStatus.accredited, effective_on=effective_on,
                        reason_code=ReasonCode.reinstatement, reason=reason,
                        decision_id=decision_id)


def reduce(acc, *, item_ids, effective_on, reason_code=ReasonCode.reduction, reason=None,
           decision_id=None):
    items = _items(acc, item_ids)
    return change_items(acc, items, ItemStatus.reduced, effective_on=effective_on,
                        reason_code=reason_code, reason=reason, decision_id=decision_id)


def withdraw(acc, *, effective_on, voluntary: bool, reason=None, decision_id=None):
    items = [i for i in _items(acc, None)
             if i.status_enum in (ItemStatus.accredited, ItemStatus.suspended)]
    events = change_items(acc, items, ItemStatus.withdrawn, effective_on=effective_on,
                          reason_code=ReasonCode.voluntary if voluntary else ReasonCode.withdrawal,
                          reason=reason, decision_id=decision_id)
    before = acc.status
    acc.status = (AccreditationStatus.voluntarily_withdrawn if voluntary
                  else AccreditationStatus.withdrawn).value
    db.session.flush()
    audit.record("accreditation.status_changed", acc, changes={"status": [before, acc.status]})
    return events


def set_inactive(acc: Accreditation, *, active: bool) -> None:
    """Inactive status at the CAB's request, or its end (rule 22; the decisions issue calls
    this): the lines keep their status; reactivation derives the status from them again."""
    before = acc.status
    if active:
        acc.status = AccreditationStatus.accredited.value
        db.session.flush()
        refresh_status(acc)
    else:
        acc.status = AccreditationStatus.inactive.value
    db.session.flush()
    if acc.status != before:
        audit.record("accreditation.status_changed", acc, changes={"status": [before, acc.status]})


# -- history ----------------------------------------------------------------------------------


def _accredited_ids_as_of(acc_id: int, on: date):
    """SELECT of the ids of the items accredited on ``on``: each item's latest event effective
    on or before that date says its status then."""
    ranked = (
        select(
            ScopeEvent.scope_item_id,
            ScopeEvent.to_status,
            func.row_number().over(
                partition_by=ScopeEvent.scope_item_id,
                order_by=(ScopeEvent.effective_on.desc(), ScopeEvent.id.desc()),
            ).label("rn"),
        )
        .where(ScopeEvent.accreditation_id == acc_id, ScopeEvent.effective_on <= on)
        .subquery()
    )
    return select(ranked.c.scope_item_id).where(
        ranked.c.rn == 1, ranked.c.to_status == ItemStatus.accredited.value
    )


def scope_as_of(acc: Accreditation, on: date) -> list[ScopeItem]:
    """The items accredited on ``on`` (ORM objects, in schedule order)."""
    return list(db.session.execute(
        select(ScopeItem).where(ScopeItem.id.in_(_accredited_ids_as_of(acc.id, on)))
        .order_by(ScopeItem.position, ScopeItem.id)
    ).scalars())


def scope_rows_as_of(acc_id: int, on: date) -> list:
    """``scope_as_of`` as plain rows (position, summary, fields): the public verification reads
    up to thousands of lines and needs no ORM objects."""
    return list(db.session.execute(
        select(ScopeItem.position, ScopeItem.summary, ScopeItem.fields)
        .where(ScopeItem.id.in_(_accredited_ids_as_of(acc_id, on)))
        .order_by(ScopeItem.position, ScopeItem.id)
    ).all())


def item_history(acc: Accreditation) -> list[ScopeEvent]:
    return list(db.session.execute(
        select(ScopeEvent).where(ScopeEvent.accreditation_id == acc.id)
        .order_by(ScopeEvent.effective_on, ScopeEvent.id)
    ).scalars())

