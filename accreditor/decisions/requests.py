"""The CAB's written requests about its accreditation, and the AB's answers (rules 22, 39).

* **resignation** (voluntary withdrawal, rule 39): full, or partial naming lines, from a date at
  least ``resignation_notice_days`` after the request. A certification body (17021-1, 17024)
  states its arrangements to protect its certified clients (IAF MD 2: text and/or a file)
  before the AB can accept. Acceptance is the decision (the decision makers, rules 1 and 2
  applied then); the ``withdraw`` decision (reason voluntary) is recorded in their names on the
  effective date by the daily job ``jobs.resignations_due`` — or at once when that date has
  come. Decisions are never future-dated.
* **inactive** (rule 22): approving it records an ``inactive`` decision; the accreditation is
  ``inactive`` (its lines keep their status) until a ``reactivate`` decision.
* **reactivation**: approving it records a ``reactivate`` decision.

The CAB may withdraw a request until it has taken effect; the AB may decline it with a reason.
Every change is audited; the CAB's users and the case manager are told by e-mail. Nothing here
commits.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, PermissionDenied, ValidationFailed
from accreditor.core.permissions import acting_user, has_role
from accreditor.decisions import services
from accreditor.decisions.models import (
    OPEN_REQUEST_STATUSES,
    CabRequest,
    Decision,
    DecisionKind,
    Extent,
    RequestKind,
    RequestStatus,
)
from accreditor.documents import services as documents
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation, AccreditationStatus, ItemStatus, ScopeItem
from accreditor.tenants.models import TenantPolicy

OWNER_TYPE = "cab_request"  # client-protection files (IAF MD 2)
documents.register_owner(OWNER_TYPE)
# Programmes whose CABs certify clients: a resignation states how those clients are protected.
CERTIFYING_PROGRAMMES = frozenset({"17021-1", "17024"})
R = RequestStatus


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def needs_client_protection(acc: Accreditation) -> bool:
    return acc.programme.code in CERTIFYING_PROGRAMMES


def protection_files(req: CabRequest) -> list:
    return documents.documents_for(OWNER_TYPE, req.id)


def earliest_resignation(today: date | None = None) -> date:
    return (today or date.today()) + timedelta(days=TenantPolicy.current().resignation_notice_days)


def _lock(acc_id: int) -> None:
    db.session.execute(select(Accreditation.id).where(Accreditation.id == acc_id)
                       .with_for_update())


# -- the CAB -------------------------------------------------------------------------------------


def submit_request(acc: Accreditation, *, kind, reason, extent=None, item_ids=(),
                   effective_on: date | None = None, client_protection: str | None = None,
                   upload=None, today: date | None = None) -> CabRequest:
    """The CAB asks, in writing. One open request of each kind per accreditation."""
    today = today or date.today()
    try:
        kind = RequestKind(kind)
    except ValueError:
        raise ValidationFailed(_("Choose what you ask for."), field="kind") from None
    reason = _text(reason)
    if not reason:
        raise ValidationFailed(_("Give the reason for your request."), field="reason")
    _lock(acc.id)
    if acc.initial_grant_on is None or not acc.is_live:
        raise Conflict(_("Only a current accreditation can be the subject of this request."))
    if kind == RequestKind.inactive and acc.status != AccreditationStatus.accredited:
        raise Conflict(_("Inactive status is asked for an accredited accreditation that is not "
                         "suspended (rule 22)."), code="not_active")
    if kind == RequestKind.reactivation and acc.status != AccreditationStatus.inactive:
        raise Conflict(_("This accreditation is not inactive."), code="not_inactive")
    if db.session.execute(select(CabRequest.id).where(
            CabRequest.accreditation_id == acc.id, CabRequest.kind == kind.value,
            CabRequest.status.in_(OPEN_REQUEST_STATUSES)).limit(1)).first() is not None:
        raise Conflict(_("A request of this kind is already open: withdraw it first."),
                       code="request_open")
    ext, lines = None, []
    if kind == RequestKind.resignation:
        try:
            ext = Extent(extent)
        except ValueError:
            raise ValidationFailed(_("Choose full or partial withdrawal."),
                                   field="extent") from None
        if ext == Extent.partial:
            lines = _live_lines(acc, item_ids)
        if effective_on is None:
            raise ValidationFailed(_("Give the date the withdrawal takes effect."),
                                   field="effective_on")
        earliest = earliest_resignation(today)
        if effective_on < earliest:
            raise ValidationFailed(_(
                "Refused (rule 39): a voluntary withdrawal takes effect at least %(n)d days "
                "after the written request: on %(d)s or later.",
                n=TenantPolicy.current().resignation_notice_days, d=earliest.isoformat()),
                field="effective_on", code="notice_too_short")
    user = acting_user()
    req = CabRequest(cab_id=acc.cab_id, accreditation_id=acc.id, kind=kind.value,
                     status=R.submitted.value, reason=reason,
                     extent=ext.value if ext else None, scope_item_ids=lines,
                     effective_on=effective_on if kind == RequestKind.resignation else None,
                     client_protection=_text(client_protection)
                     if kind == RequestKind.resignation else None,
                     submitted_by_id=user.id if user is not None else None)
    db.session.add(req)
    db.session.flush()
    if upload is not None and kind == RequestKind.resignation:
        documents.store_upload(upload, owner_type=OWNER_TYPE, owner_id=req.id, cab_id=acc.cab_id)
    audit.record("cab_request.submitted", req, changes=audit.snapshot(
        req, ("kind", "reason", "extent", "scope_item_ids", "effective_on", "client_protection")))
    _tell_staff(req, "submitted")
    return req


def _live_lines(acc: Accreditation, item_ids) -> list[int]:
    ids = services._ids(item_ids)
    if not ids:
        raise ValidationFailed(_("Name the lines you withdraw from."), field="item_ids")
    found = set(db.session.execute(select(ScopeItem.id).where(
        ScopeItem.accreditation_id == acc.id, ScopeItem.id.in_(ids),
        ScopeItem.status.in_([ItemStatus.accredited.value, ItemStatus.suspended.value])))
        .scalars())
    if found != set(ids):
        raise ValidationFailed(_("Choose accredited lines of this accreditation."),
                               field="item_ids")
    return ids


def add_protection(req: CabRequest, *, client_protection: str | None, upload=None) -> None:
    """The CAB states (or completes) its client-protection arrangements (IAF MD 2)."""
    if req.kind != RequestKind.resignation or req.status not in OPEN_REQUEST_STATUSES:
        raise Conflict(_("Arrangements are added to an open resignation request."))
    text = _text(client_protection)
    if text is None and upload is None:
        raise ValidationFailed(_("Describe the arrangements or attach a file."),
                               field="client_protection")
    if text is not None:
        req.client_protection = text
    changes = audit.diff(req)
    db.session.flush()
    if upload is not None:
        doc = documents.store_upload(upload, owner_type=OWNER_TYPE, owner_id=req.id,
                                     cab_id=req.cab_id)
        changes["file"] = [None, doc.original_name]
    audit.record("cab_request.protection_added", req, changes=changes)


def withdraw_request(req: CabRequest) -> None:
    """The CAB takes its request back, before it takes effect."""
    if req.status not in OPEN_REQUEST_STATUSES:
        raise Conflict(_("This request has already been dealt with."), code="request_closed")
    req.status = R.withdrawn.value
    req.closed_at = utcnow()
    changes = audit.diff(req)
    db.session.flush()
    audit.record("cab_request.withdrawn", req, changes=changes)
    _tell_staff(req, "withdrawn")


# -- the AB --------------------------------------------------------------------------------------


def _staff_answer(req: CabRequest, status: RequestStatus, answer: str | None) -> None:
    user = acting_user()
    req.status = status.value
    req.answered_by_id = user.id if user is not None else None
    req.answered_at = utcnow()
    req.answer = answer
    if status != R.accepted:
        req.closed_at = req.answered_at


def decline_request(req: CabRequest, answer: str | None) -> None:
    if acting_user() is not None and not has_role(*services.RECORDERS):
        raise PermissionDenied(_("Only a decision maker or a manager answers a CAB's request."))
    if req.status != R.submitted:
        raise Conflict(_("This request has already been dealt with."), code="request_closed")
    answer = _text(answer)
    if not answer:
        raise ValidationFailed(_("Give the CAB the reason."), field="answer")
    _staff_answer(req, R.declined, answer)
    changes = audit.diff(req)
    db.session.flush()
    audit.record("cab_request.declined", req, changes=changes)
    _tell_cab(req)


def accept_resignation(req: CabRequest, *, maker_ids, rationale, today: date | None = None
                       ) -> Decision | None:
    """Decision makers accept a resignation: rules 1 and 2 apply to them now; a certification
    body must have stated its client-protection arrangements (rule 39). The withdrawal is
    recorded on the effective date (at once when that date has come: the decision is
    returned)."""
    today = today or date.today()
    if acting_user() is not None and not has_role(*services.RECORDERS):
        raise PermissionDenied(_("Only a decision maker (or a manager recording a committee's "
                                 "decision) accepts a resignation."))
    if req.kind != RequestKind.resignation:
        raise Conflict(_("Only a resignation is accepted this way."))
    if req.status != R.submitted:
        raise Conflict(_("This request has already been dealt with."), code="request_closed")
    _lock(req.accreditation_id)
    acc = _accreditation(req)
    if needs_client_protection(acc) and not req.client_protection and not protection_files(req):
        raise Conflict(_("Refused (rule 39): a certification body states its arrangements to "
                         "protect its certified clients (IAF MD 2) before its resignation is "
                         "accepted."), code="client_protection_missing")
    rationale = _text(rationale) or _("Resignation requested by the CAB on %(d)s accepted.",
                                      d=req.created_at.date().isoformat())
    # The decision's rules, checked now as if it took effect today (nothing is written).
    clean = services._clean(acc, kind=DecisionKind.withdraw.value, rationale=rationale,
                            effective_on=today, maker_ids=maker_ids, input_ids=(),
                            item_ids=req.scope_item_ids, assessment_id=None,
                            suspension_type=None, extent=req.extent, location_codes=(),
                            cab_request=req)
    refusals = services.check_decision(acc, clean, today=today)
    if refusals:
        raise services.DecisionRefused(refusals)
    req.maker_ids = clean["maker_ids"]
    _staff_answer(req, R.accepted, rationale)
    changes = audit.diff(req)
    db.session.flush()
    audit.record("cab_request.accepted", req, changes=changes)
    _tell_cab(req)
    if req.effective_on <= today:
        return carry_out_resignation(req, today=today)
    return None


def carry_out_resignation(req: CabRequest, *, today: date | None = None) -> Decision | None:
    """Record the accepted resignation's ``withdraw`` decision on its effective date, in the
    names of the decision makers who accepted it (idempotent: only an accepted request is
    carried out). A request whose accreditation has ended meanwhile lapses."""
    today = today or date.today()
    if req.status != R.accepted or req.effective_on > today:
        return None
    _lock(req.accreditation_id)
    acc = _accreditation(req)
    live = {ItemStatus.accredited.value, ItemStatus.suspended.value}
    items = req.scope_item_ids
    if req.extent == Extent.partial:
        items = list(db.session.execute(select(ScopeItem.id).where(
            ScopeItem.id.in_(req.scope_item_ids), ScopeItem.status.in_(live))).scalars())
    if not acc.is_live or acc.initial_grant_on is None or (
            req.extent == Extent.partial and not items):
        req.status = R.lapsed.value
        req.closed_at = utcnow()
        changes = audit.diff(req)
        db.session.flush()
        audit.record("cab_request.lapsed", req, changes=changes)
        return None
    extent = req.extent
    if extent == Extent.partial and set(items) >= set(db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == acc.id, ScopeItem.status.in_(live))).scalars()):
        # Every line still in scope: the body resigns altogether ("voluntarily withdrawn",
        # shown as resigned), not a partial withdrawal that leaves nothing accredited.
        extent, items = Extent.full.value, []
    decision = services.record_decision(
        acc, kind=DecisionKind.withdraw.value, effective_on=req.effective_on,
        maker_ids=req.maker_ids, item_ids=items, extent=extent, cab_request=req,
        rationale=req.answer or _("Voluntary withdrawal requested by the CAB."),
        prechecked=True, today=today)
    _close(req, decision)
    return decision


def approve_request(req: CabRequest, *, maker_ids, rationale) -> Decision:
    """Inactive status or reactivation: the decision is recorded now."""
    if req.kind not in (RequestKind.inactive, RequestKind.reactivation):
        raise Conflict(_("A resignation is accepted, not approved."))
    if req.status != R.submitted:
        raise Conflict(_("This request has already been dealt with."), code="request_closed")
    acc = _accreditation(req)
    kind = DecisionKind.inactive if req.kind == RequestKind.inactive else DecisionKind.reactivate
    decision = services.record_decision(
        acc, kind=kind.value, effective_on=date.today(), maker_ids=maker_ids,
        rationale=rationale, cab_request=req)
    _staff_answer(req, R.carried_out, _text(rationale))
    _close(req, decision, audit_action="cab_request.approved")
    _tell_cab(req)
    return decision


def _close(req: CabRequest, decision: Decision, audit_action: str = "cab_request.carried_out"
           ) -> None:
    req.status = R.carried_out.value
    req.closed_at = req.closed_at or utcnow()
    changes = audit.diff(req)
    db.session.flush()
    audit.record(audit_action, req, changes={**changes, "decision_id": [None, decision.id]})


def _accreditation(req: CabRequest) -> Accreditation:
    from sqlalchemy.orm import joinedload

    return db.session.execute(select(Accreditation).where(
        Accreditation.id == req.accreditation_id)
        .options(joinedload(Accreditation.programme))).scalar_one()


def decision_of(req: CabRequest) -> Decision | None:
    return db.session.execute(select(Decision).where(
        Decision.cab_request_id == req.id).order_by(Decision.id.desc()).limit(1)
    ).scalar_one_or_none()


def requests_of(acc_id: int, limit: int = 20) -> list[CabRequest]:
    """The accreditation's requests, newest first."""
    return list(db.session.execute(select(CabRequest).where(
        CabRequest.accreditation_id == acc_id).order_by(CabRequest.id.desc()).limit(limit))
        .scalars())


# -- mail ----------------------------------------------------------------------------------------


def _tell_staff(req: CabRequest, what: str) -> None:
    from accreditor.core.mail import send_mail
    from accreditor.core.web import external_url
    from accreditor.findings.services import manager_emails

    link = external_url("tenant.decisions.request", request_id=req.id)
    for email in manager_emails(req.cab_id):
        send_mail(email, _("CAB request %(n)d (%(k)s): %(w)s", n=req.id, k=req.kind, w=what),
                  "decision_request_staff", req=req, what=what, link=link)


def _tell_cab(req: CabRequest) -> None:
    from accreditor.cabs.services import cab_user_emails
    from accreditor.core.mail import send_mail
    from accreditor.core.web import external_url

    link = external_url("tenant.cab_decisions.request", request_id=req.id)
    for email in cab_user_emails(req.cab_id):
        send_mail(email, _("Your request %(n)d (%(k)s): %(s)s", n=req.id, k=req.kind,
                           s=req.status.replace("_", " ")),
                  "decision_request_answered", req=req, link=link)
