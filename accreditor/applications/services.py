"""Use cases for applications: draft, submit, request information, answer, accept, refuse, lapse."""

from __future__ import annotations

import functools
from datetime import date

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import select

from accreditor.applications.models import (
    OPEN_STATUSES,
    Application,
    ApplicationEvent,
    ApplicationStatus,
    ApplicationType,
)
from accreditor.cabs import services as cab_services
from accreditor.cabs.models import Cab
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, PermissionDenied, ValidationFailed
from accreditor.core.mail import send_mail
from accreditor.core.permissions import acting_user
from accreditor.core.web import external_url
from accreditor.extensions import db
from accreditor.refdata.models import Programme
from accreditor.scopes import schemas
from accreditor.scopes import services as scopes
from accreditor.scopes.models import (
    Accreditation,
    AccreditationStatus,
    ItemStatus,
    ReasonCode,
    ScopeItem,
)
from accreditor.tenants.models import TenantPolicy

S = ApplicationStatus


def _actor_label() -> str:
    user = acting_user()
    return user.email if user is not None else "system"


def _actor_id() -> int | None:
    user = acting_user()
    return user.id if user is not None else None


def _event(app: Application, before: str | None, message: str | None = None) -> None:
    db.session.add(ApplicationEvent(
        cab_id=app.cab_id, application_id=app.id, from_status=before, to_status=app.status,
        message=message, actor_id=_actor_id(), actor_label=_actor_label()))
    db.session.flush()


def _move(app: Application, new: ApplicationStatus, message: str | None = None) -> None:
    before = app.status
    app.set_status(new)
    db.session.flush()
    _event(app, before, message)
    audit.record(f"application.{new.value}", app, changes={"status": [before, new.value]})


def private_while_draft(func):
    """A draft is the CAB's own until submitted: what ``func(app, …)`` changes on a draft is
    audited without a subject CAB (``audit.private_to_cab``), so it stays off the staff CAB
    history; the tenant's audit log keeps it."""
    @functools.wraps(func)
    def wrapped(app: Application, *args, **kwargs):
        with audit.private_to_cab(app.status == S.draft.value):
            return func(app, *args, **kwargs)
    return wrapped


def start_application(cab: Cab, *, type: ApplicationType, programme: Programme,
                      summary: str | None = None, location_codes: str | None = None,
                      accreditation: Accreditation | None = None,
                      target_item_ids: list[int] | None = None) -> Application:
    """Open a draft. An initial application opens the accreditation (status applicant); every
    other type names the existing accreditation it acts on."""
    if type.needs_accreditation:
        if accreditation is None or accreditation.cab_id != cab.id \
                or accreditation.programme_id != programme.id:
            raise ValidationFailed(_("Choose the accreditation this application is about."),
                                   field="accreditation")
        if not accreditation.is_live or accreditation.status_enum == AccreditationStatus.applicant:
            raise Conflict(_("This accreditation is %(s)s; only a current accreditation can be "
                             "extended, reduced or changed.",
                             s=accreditation.status.replace("_", " ")), field="accreditation")
        targets = _clean_targets(type, accreditation, target_item_ids or [])
    else:
        with audit.private_to_cab():  # opened by a draft: the CAB's own until submitted
            accreditation = scopes.create_accreditation(cab, programme)
        targets = []
    app = Application(cab_id=cab.id, type=type.value, status=S.draft.value,
                      programme_id=programme.id, accreditation_id=accreditation.id,
                      summary=(summary or "").strip() or None,
                      location_codes=(location_codes or "").strip() or None,
                      target_item_ids=targets,
                      created_by_id=_actor_id())
    db.session.add(app)
    db.session.flush()
    _event(app, None, None)
    with audit.private_to_cab():
        audit.record("application.started", app, changes={"type": [None, type.value],
                                                          "programme_id": [None, programme.id]})
    return app


TARGETING_TYPES = frozenset({ApplicationType.reduction, ApplicationType.voluntary_suspension,
                             ApplicationType.voluntary_withdrawal})


def _clean_targets(kind: ApplicationType, acc: Accreditation, item_ids: list[int]) -> list[int]:
    """The existing lines a reduction / voluntary suspension / withdrawal names must be current
    lines (accredited or suspended) of the application's own accreditation; other types name
    none. Raises ValidationFailed otherwise."""
    wanted = sorted({int(i) for i in item_ids or []})
    if kind not in TARGETING_TYPES or not wanted:
        return []
    found = set(db.session.execute(
        select(ScopeItem.id).where(
            ScopeItem.accreditation_id == acc.id, ScopeItem.id.in_(wanted),
            ScopeItem.status.in_([ItemStatus.accredited.value, ItemStatus.suspended.value]))
    ).scalars())
    if found != set(wanted):
        raise ValidationFailed(_("Choose only current lines of this accreditation."),
                               field="target_item_ids")
    return wanted


@private_while_draft
def update_draft(app: Application, *, summary: str | None, location_codes: str | None,
                 target_item_ids: list[int] | None = None) -> None:
    """Change what a draft (or an application the AB asked about) says; Conflict once it is with
    the AB."""
    if not app.is_editable_by_cab:
        raise Conflict(_("This application can no longer be changed."))
    if target_item_ids is not None:
        targets = _clean_targets(app.type_enum, _accreditation(app), target_item_ids)
    app.summary = (summary or "").strip() or None
    app.location_codes = (location_codes or "").strip() or None
    if target_item_ids is not None:
        app.target_item_ids = targets
    changes = audit.diff(app, exclude=("updated_at",))
    if changes:
        db.session.flush()
        audit.record("application.updated", app, changes=changes)


def requested_items(app: Application) -> list[ScopeItem]:
    return list(db.session.execute(
        select(ScopeItem).where(ScopeItem.application_id == app.id)
        .order_by(ScopeItem.position, ScopeItem.id)
    ).scalars())


def target_items(app: Application) -> list[ScopeItem]:
    """The existing lines a reduction / voluntary suspension / withdrawal names."""
    if not app.target_item_ids:
        return []
    return list(db.session.execute(
        select(ScopeItem).where(ScopeItem.accreditation_id == app.accreditation_id,
                                ScopeItem.id.in_(app.target_item_ids))
        .order_by(ScopeItem.position, ScopeItem.id)
    ).scalars())


def history(app: Application) -> list[ApplicationEvent]:
    """Status changes and messages, oldest first (both sides see them)."""
    return list(db.session.execute(
        select(ApplicationEvent).where(ApplicationEvent.application_id == app.id)
        .order_by(ApplicationEvent.id)
    ).scalars())


def info_question(app: Application) -> ApplicationEvent | None:
    """The AB's open information request, while the application waits for the answer."""
    if app.status_enum != S.info_requested:
        return None
    return db.session.execute(
        select(ApplicationEvent).where(ApplicationEvent.application_id == app.id,
                                       ApplicationEvent.to_status == S.info_requested.value)
        .order_by(ApplicationEvent.id.desc()).limit(1)
    ).scalar_one_or_none()


@private_while_draft
def add_requested_line(app: Application, raw: dict, *,
                       ctx: schemas.Context | None = None) -> ScopeItem:
    """Add a requested scope line to an application that adds scope, while the CAB may edit it.
    Raises PermissionDenied / Conflict, or ScopeLineInvalid with errors by field."""
    ensure_cab_may_edit(app)
    if not app.type_enum.adds_scope:
        raise Conflict(_("This kind of application does not request scope lines."))
    return scopes.add_scope_item(_accreditation(app), raw, application_id=app.id, ctx=ctx)


@private_while_draft
def remove_requested_line(app: Application, item: ScopeItem) -> None:
    """Remove one of the application's own requested (applied) lines while the CAB may edit."""
    ensure_cab_may_edit(app)
    if item.application_id != app.id:
        raise ValidationFailed(_("This line is not part of this application."), field="item")
    scopes.remove_scope_item(item, _accreditation(app))


def submit_application(app: Application, *, declaration: bool) -> None:
    """Submit (or re-submit after an information request). Needs the declaration, and scope
    lines for types that add scope; starts the validity period (rule 38) on first submission."""
    if app.status_enum not in (S.draft, S.info_requested):
        raise Conflict(_("This application has already been submitted."))
    if not declaration:
        raise ValidationFailed(_("Confirm the declaration to submit the application."),
                               field="declaration")
    kind = app.type_enum
    if kind.adds_scope and not requested_items(app):
        raise ValidationFailed(_("Add at least one requested scope line before submitting."),
                               field="scope")
    # A voluntary withdrawal without lines withdraws the whole accreditation.
    if kind in (ApplicationType.reduction, ApplicationType.voluntary_suspension) \
            and not app.target_item_ids:
        raise ValidationFailed(_("Choose the scope lines this application concerns."),
                               field="target_item_ids")
    if kind == ApplicationType.change_of_details and not app.summary:
        raise ValidationFailed(_("Describe the change of details."), field="summary")
    app.declaration_accepted = True
    app.declared_by_id = _actor_id()
    if app.submitted_at is None:
        app.submitted_at = utcnow()
        months = db.session.execute(select(TenantPolicy.application_validity_months)).scalar_one()
        app.lapses_on = date.today() + relativedelta(months=months)
    _move(app, S.submitted)
    _notify_manager(app, _("Application submitted by %(cab)s", cab=_cab_name(app)))


def request_information(app: Application, *, message: str) -> None:
    if not (message or "").strip():
        raise ValidationFailed(_("Say what information is needed."), field="message")
    _move(app, S.info_requested, message.strip())
    _notify_cab(app, _("More information is needed for your application"), message.strip())


def answer_information_request(app: Application, *, message: str) -> None:
    if app.status_enum != S.info_requested:
        raise Conflict(_("No information has been requested."))
    if not (message or "").strip():
        raise ValidationFailed(_("Write your answer."), field="message")
    _move(app, S.submitted, message.strip())
    _notify_manager(app, _("%(cab)s answered your information request", cab=_cab_name(app)))


def accept_application(app: Application, *, message: str | None = None) -> str:
    """Accept after the completeness and resource review: the case opens and, for an initial
    application, the accreditation number is reserved and the programme proposed (document
    review, initial assessment, projected cycle). Returns the accreditation number."""
    _move(app, S.accepted, (message or "").strip() or None)
    acc = _accreditation(app)
    number = scopes.reserve_number(acc)
    if app.type_enum == ApplicationType.initial and acc.status_enum == AccreditationStatus.applicant:
        # The case is open: propose the document review, the initial assessment and the
        # projected cycle from the tenant's policy (the manager adjusts the dates).
        from accreditor.assessments.programme import propose_programme

        propose_programme(acc)
    _notify_cab(app, _("Your application has been accepted"),
                _("Accreditation number %(n)s is reserved for this case.", n=number))
    return number


def refuse_application(app: Application, *, reason: str) -> None:
    if not (reason or "").strip():
        raise ValidationFailed(_("Give the reasons for refusing."), field="reason")
    app.ensure_can_move_to(S.refused)  # refuse before touching the decision columns
    app.decision_reason = reason.strip()
    app.decided_at = utcnow()
    _move(app, S.refused, reason.strip())
    _close_requested_scope(app, AccreditationStatus.refused, ReasonCode.refusal)
    _notify_cab(app, _("Your application has been refused"), reason.strip())


def withdraw_application(app: Application) -> None:
    """The CAB withdraws its own submitted application at any point before a decision
    (a draft is discarded instead); InvalidTransition otherwise."""
    _move(app, S.withdrawn)
    _close_requested_scope(app, AccreditationStatus.voluntarily_withdrawn, ReasonCode.voluntary)
    _notify_manager(app, _("%(cab)s withdrew its application", cab=_cab_name(app)))


@private_while_draft
def discard_draft(app: Application) -> None:
    """Delete a draft the AB never saw: its requested lines, its history and, for an initial
    application, the applicant accreditation it opened (so the CAB can start again). The audit
    trail keeps what was discarded. Conflict unless the application is a draft."""
    if not app.can_be_discarded:
        raise Conflict(_("Only a draft can be discarded; withdraw a submitted application."))
    acc = _accreditation(app)
    items = requested_items(app)
    audit.record("application.discarded", app, changes={
        "status": [app.status, None], "type": [app.type, None],
        "requested_lines": [[i.fields for i in items], None]})
    for item in items:
        db.session.delete(item)
    db.session.flush()
    for ev in db.session.execute(
        select(ApplicationEvent).where(ApplicationEvent.application_id == app.id)
    ).scalars():
        db.session.delete(ev)
    db.session.flush()
    db.session.delete(app)
    db.session.flush()
    if app.type_enum == ApplicationType.initial and acc.status_enum == AccreditationStatus.applicant:
        others = db.session.execute(
            select(ScopeItem.id).where(ScopeItem.accreditation_id == acc.id).limit(1)
        ).first() or db.session.execute(
            select(Application.id).where(Application.accreditation_id == acc.id).limit(1)
        ).first()
        if not others and not acc.number:
            audit.record("accreditation.discarded", acc, changes={"status": [acc.status, None]})
            db.session.delete(acc)
            db.session.flush()


def lapse_application(app: Application, *, on: date | None = None) -> None:
    """Rule 38: no grant decision within the validity period; the requested lines are refused
    and an initial applicant accreditation becomes lapsed. Effective ``on`` (default today)."""
    _move(app, S.lapsed, _("No grant decision within the validity period."))
    _close_requested_scope(app, AccreditationStatus.lapsed, ReasonCode.expiry, on=on)


def _close_requested_scope(app: Application, initial_status: AccreditationStatus,
                           reason_code: ReasonCode = ReasonCode.refusal, *,
                           on: date | None = None) -> None:
    acc = _accreditation(app)
    items = [i for i in requested_items(app) if i.status_enum == ItemStatus.applied]
    if items:
        scopes.change_items(acc, items, ItemStatus.refused, effective_on=on or date.today(),
                            reason_code=reason_code, reason=f"application {app.status}")
    if app.type_enum == ApplicationType.initial and acc.status_enum == AccreditationStatus.applicant:
        before = acc.status
        acc.status = initial_status.value
        db.session.flush()
        audit.record("accreditation.status_changed", acc,
                     changes={"status": [before, acc.status]})


def _accreditation(app: Application) -> Accreditation:
    from sqlalchemy.orm import selectinload

    return db.session.execute(
        select(Accreditation).where(Accreditation.id == app.accreditation_id)
        .options(selectinload(Accreditation.programme))
    ).scalar_one()


def _cab_name(app: Application) -> str:
    return db.session.execute(select(Cab.legal_name).where(Cab.id == app.cab_id)).scalar_one()


def ensure_cab_may_edit(app: Application) -> None:
    if not app.is_editable_by_cab:
        raise PermissionDenied(_("This application is with the accreditation body now."))


# -- notifications ----------------------------------------------------------------------------


# send_mail(to, subject, template, **context) takes ``subject`` itself, so the template gets the
# same text as ``headline`` (passing ``subject=`` again was a TypeError on every notification).


def _notify_cab(app: Application, subject: str, message: str | None) -> None:
    link = external_url("tenant.portal.application", application_id=app.id)
    for email in cab_services.cab_user_emails(app.cab_id):
        send_mail(email, subject, "application_update", headline=subject, message=message,
                  link=link, cab_name=_cab_name(app))


def _notify_manager(app: Application, subject: str) -> None:
    manager = cab_services.case_manager_email(app.cab_id)
    if manager:
        link = external_url("tenant.applications.show", application_id=app.id)
        send_mail(manager, subject, "application_update", headline=subject, message=None,
                  link=link, cab_name=_cab_name(app))


def overdue_applications(today: date) -> list[Application]:
    """Open applications without a decision whose validity has run out: ``lapses_on`` is the
    first day the application is no longer valid, so it lapses on that day."""
    return list(db.session.execute(
        select(Application).where(Application.status.in_([s.value for s in OPEN_STATUSES]),
                                  Application.decided_at.is_(None),
                                  Application.lapses_on <= today)
        .order_by(Application.id)
    ).scalars())
