"""Use cases for complaints (17011 7.13, rule 25): receiving one (public form or staff
register), acknowledging it, referring a complaint about a CAB to the CAB first (or skipping the
referral with a recorded reason), the CAB's answer, the investigation, the proposed decision,
its approval by someone not involved, the formal close notice, rejection and withdrawal, notes
and progress updates.

Who may, checked here with the signed-in user (a refusal is a PermissionDenied whatever calls
it): managers and admins handle complaints (register, acknowledge, refer, assign, reject,
withdraw, close, send updates); the investigator (or a handler) proposes the decision; an admin,
manager or decision maker who is not involved approves it (rule 25); the CAB's users answer a
complaint referred to their CAB. Without a signed-in user (jobs, demo data, tests) the caller is
the system.

Every state change is audited (without the complainant's personal data, which stays on the
complaint row) and written to the complaint's thread; nothing here commits.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from accreditor.complaints.models import (
    EMAIL_MAX,
    NAME_MAX,
    OUTCOME_MAX,
    PHONE_MAX,
    TERMINAL,
    TEXT_MAX,
    Channel,
    Complaint,
    ComplaintEntry,
    ComplaintStatus,
    ComplaintSubject,
    EntryKind,
    Outcome,
)
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from accreditor.core.mail import send_mail
from accreditor.core.permissions import Role, acting_user, has_role
from accreditor.core.web import external_url
from accreditor.core.workdays import add_working_days
from accreditor.extensions import db
from accreditor.tenants.models import TenantPolicy

log = logging.getLogger(__name__)
S = ComplaintStatus
HANDLERS = (Role.admin, Role.manager)
APPROVERS = (Role.admin, Role.manager, Role.decision_maker)
# Accreditations whose CAB the public may complain about (public information only).
COMPLAINABLE = ("accredited", "partially_suspended", "suspended")
# Rule 25's "not involved": on any team of the CAB within the cycle — at most 5 years (rule 7).
CYCLE_LOOKBACK_DAYS = 5 * 365 + 1
# The oldest event a complaint may be about (years before today).
EVENT_LOOKBACK_YEARS = 10
# Free text (it may hold personal data) stays on the complaint and its thread, never in the
# immutable audit trail: the events record who changed what step, not what was written.
AUDIT_EXCLUDED = ("complainant_name", "complainant_email", "complainant_phone",
                  "complainant_organisation", "what_happened", "desired_outcome",
                  "cab_response", "referral_skipped_reason", "decision_text", "actions",
                  "rejection_reason", "withdrawal_note")


def staff_link(c: Complaint) -> str:
    return external_url("tenant.complaints.show", complaint_id=c.id)


def cab_link(c: Complaint) -> str:
    return external_url("tenant.cab_complaints.show", complaint_id=c.id)


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _bounded(value: str | None, limit: int, field: str, *, required: str | None = None
             ) -> str | None:
    value = _text(value)
    if value is None and required:
        raise ValidationFailed(required, field=field)
    if value is not None and len(value) > limit:
        raise ValidationFailed(_("Keep this under %(n)d characters (it has %(m)d).",
                                 n=limit, m=len(value)), field=field)
    return value


def _actor_id() -> int | None:
    user = acting_user()
    return user.id if user is not None else None


def _require(*roles: Role, allow_user_id: int | None = None) -> None:
    """A signed-in user needs one of ``roles`` (or to be ``allow_user_id``); the system may."""
    user = acting_user()
    if user is None or has_role(*roles) or (allow_user_id and user.id == allow_user_id):
        return
    raise PermissionDenied(_("Your role does not allow this step of a complaint."))


def _entry(c: Complaint, kind: EntryKind, body: str | None = None, *, step: str | None = None,
           sent: bool = False) -> ComplaintEntry:
    e = ComplaintEntry(complaint_id=c.id, kind=kind.value, step=step, body=body,
                       author_id=_actor_id(), sent=sent)
    db.session.add(e)
    return e


OPEN = tuple(s for s in S if s not in TERMINAL)


def _ensure(c: Complaint, new: ComplaintStatus, *allowed: ComplaintStatus) -> None:
    """Refuse (409) before anything changes unless this use case may run in the current state."""
    if c.status_enum not in allowed or not c.can_move_to(new):
        raise InvalidTransition(_(
            "Complaint %(ref)s is %(s)s: it cannot become %(n)s now.", ref=c.reference,
            s=c.status.replace("_", " "), n=new.value.replace("_", " ")))


def _move(c: Complaint, new: ComplaintStatus, action: str, note: str | None = None) -> None:
    """Change state through the table, write the thread line and the audit event."""
    before = c.status
    c.set_status(new)
    changes = audit.diff(c, exclude=AUDIT_EXCLUDED)
    changes.setdefault("status", [before, c.status])
    db.session.flush()
    _entry(c, EntryKind.step, note, step=new.value)
    audit.record(action, c, changes=changes)


def _mail_complainant(c: Complaint, subject: str, paragraphs: list[str]) -> bool:
    """E-mail the complainant (nothing when registered without an address: the handler writes)."""
    if not c.complainant_email:
        return False
    send_mail(c.complainant_email, subject, "complaint_complainant", complaint=c,
              paragraphs=paragraphs)
    return True


def handler_emails(c: Complaint) -> list[str]:
    """The investigator while investigating, else the handler, else the tenant's managers."""
    from accreditor.auth.models import Membership, MembershipRole, User

    for uid in (c.investigator_id if c.status in (S.investigating, S.decision_proposed) else None,
                c.handler_id):
        if uid:
            email = db.session.execute(select(User.email).where(User.id == uid)).scalar_one()
            return [email]
    return sorted(set(db.session.execute(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.is_active, MembershipRole.role == Role.manager.value)).scalars()))


# -- what the public form offers ------------------------------------------------------------------


def complainable_cabs() -> list[tuple[int, str, str]]:
    """(cab id, legal name, accreditation numbers) of the AB's accredited or suspended CABs:
    public information only, one statement."""
    from accreditor.cabs.models import Cab
    from accreditor.scopes.models import Accreditation

    rows = db.session.execute(
        select(Cab.id, Cab.legal_name, Accreditation.number)
        .join(Accreditation, Accreditation.cab_id == Cab.id)
        .where(Accreditation.status.in_(COMPLAINABLE))
        .order_by(func.lower(Cab.legal_name), Cab.id, Accreditation.number)).all()
    out: dict[int, tuple[str, list[str]]] = {}
    for cab_id, name, number in rows:
        out.setdefault(cab_id, (name, []))[1].append(number or "")
    return [(cid, name, ", ".join(n for n in numbers if n)) for cid, (name, numbers) in out.items()]


# -- receiving ------------------------------------------------------------------------------------


def _next_reference(year: int) -> str:
    """C-<year>-<nnnn>, per tenant and year, never reused (a counter row locked for the update)."""
    from accreditor.scopes.models import NumberCounter

    key = f"complaint-{year}"
    counter_id = db.session.execute(
        select(NumberCounter.id).where(NumberCounter.key == key).with_for_update()
    ).scalar_one_or_none()
    if counter_id is None:
        counter = NumberCounter(key=key, value=0)
        db.session.add(counter)
    else:
        counter = db.session.execute(
            select(NumberCounter).where(NumberCounter.id == counter_id)).scalar_one()
    counter.value += 1
    db.session.flush()
    return f"C-{year}-{counter.value:04d}"


def receive_complaint(*, subject: str, cab_id: int | None, complainant_name: str,
                      complainant_email: str | None, what_happened: str, event_on: date | None,
                      complainant_phone: str | None = None,
                      complainant_organisation: str | None = None,
                      desired_outcome: str | None = None, consent_to_share: bool = False,
                      channel: str = Channel.web, received_on: date | None = None,
                      today: date | None = None) -> Complaint:
    """Record a complaint (public form or staff register), give it its reference and due
    dates, and send the complainant the receipt. Every field is bounded; a complaint about a
    CAB names one the public may complain about."""
    today = today or date.today()
    if channel != Channel.web:
        _require(*HANDLERS)
    try:
        subject = ComplaintSubject(subject)
    except ValueError:
        raise ValidationFailed(_("Say whether the complaint is about a CAB or about us."),
                               field="subject") from None
    try:
        channel = Channel(channel)
    except ValueError:
        raise ValidationFailed(_("Choose how the complaint came in."), field="channel") from None
    if subject == ComplaintSubject.cab:
        try:  # the public form posts any text ("abc", "1.5"): refused beside the field
            cab_id = int(cab_id) if cab_id else None
        except (TypeError, ValueError):
            cab_id = None
        if cab_id is None or cab_id not in {cid for cid, _n, _a in complainable_cabs()}:
            raise ValidationFailed(_("Choose the accredited body the complaint is about."),
                                   field="cab_id")
    else:
        cab_id = None
    name = _bounded(complainant_name, NAME_MAX, "complainant_name",
                    required=_("Give your name."))
    email = _bounded(complainant_email, EMAIL_MAX, "complainant_email",
                     required=_("Give an e-mail address we can answer.")
                     if channel == Channel.web else None)
    if email and ("@" not in email or " " in email):
        raise ValidationFailed(_("Give a valid e-mail address."), field="complainant_email")
    phone = _bounded(complainant_phone, PHONE_MAX, "complainant_phone")
    organisation = _bounded(complainant_organisation, NAME_MAX, "complainant_organisation")
    body = _bounded(what_happened, TEXT_MAX, "what_happened",
                    required=_("Tell us what happened."))
    wanted = _bounded(desired_outcome, OUTCOME_MAX, "desired_outcome")
    received_on = received_on or today
    if event_on is None:
        raise ValidationFailed(_("Give the date of the event (an estimate will do)."),
                               field="event_on")
    if event_on > today:
        raise ValidationFailed(_("The event cannot be in the future."), field="event_on")
    earliest = today - relativedelta(years=EVENT_LOOKBACK_YEARS)
    if event_on < earliest:
        raise ValidationFailed(_("The event must be within the last %(n)d years (on or after "
                                 "%(d)s).", n=EVENT_LOOKBACK_YEARS, d=earliest.isoformat()),
                               field="event_on")
    if event_on > received_on:
        raise ValidationFailed(_("The event cannot be after the complaint was received."),
                               field="event_on")
    if received_on > today:
        raise ValidationFailed(_("A complaint cannot be received in the future."),
                               field="received_on")
    policy = TenantPolicy.current()
    c = Complaint(
        reference=_next_reference(received_on.year), subject=subject.value, cab_id=cab_id,
        channel=channel.value, complainant_name=name, complainant_email=email,
        complainant_phone=phone, complainant_organisation=organisation,
        consent_to_share=bool(consent_to_share), what_happened=body, event_on=event_on,
        desired_outcome=wanted, status=S.received.value, received_on=received_on,
        registered_by_id=_actor_id(),
        ack_due_on=add_working_days(received_on, policy.complaint_ack_working_days),
        resolution_due_on=received_on + timedelta(days=policy.complaint_resolution_days))
    db.session.add(c)
    db.session.flush()
    _entry(c, EntryKind.step, step=S.received.value)
    # No personal data in the audit trail: it stays on the complaint (which can be erased).
    audit.record("complaint.received", c, changes=audit.snapshot(
        c, ("reference", "subject", "cab_id", "channel", "event_on", "received_on",
            "consent_to_share", "ack_due_on", "resolution_due_on")))
    _mail_complainant(c, _("Complaint %(ref)s received", ref=c.reference), [
        _("We have received your complaint. Its reference is %(ref)s: please quote it when you "
          "write to us.", ref=c.reference),
        _("We will acknowledge it by %(d)s and aim to close it by %(r)s. We will keep you "
          "informed of its progress.", d=c.ack_due_on.isoformat(),
          r=c.resolution_due_on.isoformat()),
        _("Making a complaint never affects how we treat you."),
    ])
    return c


# -- handling -------------------------------------------------------------------------------------


def acknowledge(c: Complaint, *, note: str | None = None) -> None:
    """Take the complaint up as valid; the acknowledging handler becomes its handler."""
    _require(*HANDLERS)
    c.acknowledged_at = utcnow()
    c.handler_id = c.handler_id or _actor_id()
    _move(c, S.acknowledged, "complaint.acknowledged", _bounded(note, TEXT_MAX, "note"))
    paragraphs = [_("We have acknowledged your complaint %(ref)s and are handling it.",
                    ref=c.reference)]
    if c.about_cab:
        paragraphs.append(_("As a complaint about an accredited body, it is normally first "
                            "addressed by that body; we track its answer and then investigate."))
    paragraphs.append(_("We aim to close it by %(d)s.", d=c.resolution_due_on.isoformat()))
    _mail_complainant(c, _("Complaint %(ref)s acknowledged", ref=c.reference), paragraphs)


def refer_to_cab(c: Complaint, *, today: date | None = None) -> None:
    """Send a complaint about a CAB to that CAB first (rule 25): it answers in the portal within
    the tenant's ``complaint_cab_response_days``."""
    from accreditor.cabs.services import cab_user_emails

    _require(*HANDLERS)
    if not c.about_cab:
        raise Conflict(_("A complaint about us is not referred to a CAB."))
    today = today or date.today()
    c.referred_at = utcnow()
    c.cab_response_due_on = today + timedelta(
        days=TenantPolicy.current().complaint_cab_response_days)
    _move(c, S.referred, "complaint.referred")
    for email in cab_user_emails(c.cab_id):
        send_mail(email, _("Complaint %(ref)s referred to you", ref=c.reference),
                  "complaint_cab", complaint=c, link=cab_link(c), paragraphs=[
                      _("A complaint about your organisation was made to us. As the first step, "
                        "we ask you to address it and tell us how, through the portal, by "
                        "%(d)s.", d=c.cab_response_due_on.isoformat())])


def respond_as_cab(c: Complaint, *, text: str) -> None:
    """The CAB's answer to a complaint referred to it (once, while referred)."""
    if c.status != S.referred:
        raise Conflict(_("This complaint no longer awaits your answer."))
    if c.cab_responded_at is not None:
        raise Conflict(_("Your organisation has already answered this complaint."))
    c.cab_response = _bounded(text, TEXT_MAX, "text", required=_("Write your answer."))
    c.cab_responded_at = utcnow()
    c.cab_responded_by_id = _actor_id()
    changes = audit.diff(c, exclude=AUDIT_EXCLUDED)
    db.session.flush()
    _entry(c, EntryKind.step, step="cab_responded")
    audit.record("complaint.cab_responded", c, changes=changes)
    for email in handler_emails(c):
        send_mail(email, _("Complaint %(ref)s: the CAB has answered", ref=c.reference),
                  "complaint_staff", complaint=c, link=staff_link(c), paragraphs=[
                      _("The CAB has answered the complaint referred to it.")])


def _staff_member(user_id) -> int:
    from accreditor.auth.models import Membership

    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Choose the investigator."), field="investigator_id") from None
    m = db.session.execute(select(Membership).where(
        Membership.user_id == user_id, Membership.is_active)).scalar_one_or_none()
    if m is None or not m.is_staff:
        raise ValidationFailed(_("The investigator must be one of our staff."),
                               field="investigator_id")
    return user_id


def start_investigation(c: Complaint, *, investigator_id, skip_referral_reason: str | None = None,
                        today: date | None = None) -> None:
    """Assign a staff member to investigate. A complaint about a CAB goes to the CAB first: it
    is investigated after the CAB answered (or its time ran out), or without referral only with
    a recorded reason (rule 25)."""
    _require(*HANDLERS)
    today = today or date.today()
    _ensure(c, S.investigating, S.acknowledged, S.referred)
    if c.about_cab and c.status == S.acknowledged:
        reason = _bounded(skip_referral_reason, TEXT_MAX, "skip_referral_reason")
        if reason is None:
            raise ValidationFailed(
                _("A complaint about a CAB is first referred to the CAB. To investigate without "
                  "referral, record the reason (rule 25)."), field="skip_referral_reason")
        c.referral_skipped_reason = reason
    if c.status == S.referred and c.cab_responded_at is None and c.cab_response_due_on >= today:
        raise Conflict(_("The CAB has until %(d)s to answer; the investigation starts after its "
                         "answer or once that date has passed.",
                         d=c.cab_response_due_on.isoformat()))
    c.investigator_id = _staff_member(investigator_id)
    c.investigation_started_at = utcnow()
    _move(c, S.investigating, "complaint.investigation_started", c.referral_skipped_reason)


def propose_decision(c: Complaint, *, outcome: str, decision_text: str,
                     actions: str | None = None) -> None:
    """The investigator's (or a handler's) proposed decision: upheld, partly upheld or not."""
    _require(*HANDLERS, allow_user_id=c.investigator_id)
    _ensure(c, S.decision_proposed, S.investigating)
    try:
        outcome = Outcome(outcome)
    except ValueError:
        raise ValidationFailed(_("Choose the outcome."), field="outcome") from None
    c.outcome = outcome.value
    c.decision_text = _bounded(decision_text, TEXT_MAX, "decision_text",
                               required=_("Write the decision and its reasons."))
    c.actions = _bounded(actions, TEXT_MAX, "actions")
    c.proposed_by_id = _actor_id()
    c.proposed_at = utcnow()
    _move(c, S.decision_proposed, "complaint.decision_proposed")


def involvement(c: Complaint, user_id: int, *, today: date | None = None) -> str | None:
    """Why ``user_id`` is involved in the complaint (rule 25), or None when independent."""
    from accreditor.assessments.models import Assessment, TeamAssignment
    from accreditor.cabs.models import Cab
    from accreditor.scopes.models import Accreditation

    if user_id == c.investigator_id:
        return _("you investigated this complaint")
    if c.proposed_by_id and user_id == c.proposed_by_id:
        return _("you proposed this decision")
    if not c.about_cab:
        return None
    if db.session.execute(select(Cab.manager_id).where(Cab.id == c.cab_id)).scalar() == user_id:
        return _("you are the case manager of this CAB")
    today = today or date.today()
    since = today - timedelta(days=CYCLE_LOOKBACK_DAYS)
    cycle_start = db.session.execute(
        select(func.min(Accreditation.cycle_start_on)).where(Accreditation.cab_id == c.cab_id)
    ).scalar()
    if cycle_start is not None and cycle_start < since:
        since = cycle_start
    on_team = db.session.execute(
        select(TeamAssignment.id).join(Assessment, Assessment.id == TeamAssignment.assessment_id)
        .where(TeamAssignment.user_id == user_id, Assessment.cab_id == c.cab_id,
               Assessment.status != "cancelled", Assessment.planned_end_on >= since)
        .limit(1)).first()
    if on_team is not None:
        return _("you were on an assessment team of this CAB in the current cycle")
    return None


def approve_decision(c: Complaint, *, approved_by_id: int | None = None,
                     today: date | None = None) -> None:
    """Approve the proposed decision. The approver must not be involved: not the investigator or
    proposer, not the CAB's case manager, not on any of its assessment teams in the cycle
    (rule 25)."""
    _require(*APPROVERS)
    approver = approved_by_id or _actor_id()
    _ensure(c, S.decision_approved, S.decision_proposed)
    if approver is None:
        raise PermissionDenied(_("A complaint decision is approved by a person."))
    why = involvement(c, approver, today=today)
    if why:
        raise PermissionDenied(_("You cannot approve this decision: %(why)s. A complaint "
                                 "decision is approved by someone not involved (rule 25).",
                                 why=why))
    c.approved_by_id = approver
    c.approved_at = utcnow()
    _move(c, S.decision_approved, "complaint.decision_approved")


def return_to_investigation(c: Complaint, *, reason: str) -> None:
    """The approver sends the proposal back; the reason is kept in the thread."""
    _require(*APPROVERS)
    _ensure(c, S.investigating, S.decision_proposed)
    reason = _bounded(reason, TEXT_MAX, "reason", required=_("Say what needs another look."))
    _move(c, S.investigating, "complaint.decision_returned", reason)


def close_complaint(c: Complaint) -> None:
    """Close an approved decision and send the complainant the formal notice."""
    from accreditor.complaints.forms import OUTCOME_LABELS

    _require(*HANDLERS)
    _ensure(c, S.closed, S.decision_approved)
    c.closed_at = utcnow()
    _move(c, S.closed, "complaint.closed")
    paragraphs = [
        _("We have completed the handling of your complaint %(ref)s.", ref=c.reference),
        _("Outcome: %(o)s.", o=str(OUTCOME_LABELS[Outcome(c.outcome)])),
        c.decision_text or "",
    ]
    if c.actions:
        paragraphs.append(_("Actions: %(a)s", a=c.actions))
    paragraphs.append(_("This decision was made by people not involved in the activities "
                        "complained about. Thank you for raising it."))
    _mail_complainant(c, _("Complaint %(ref)s: our decision", ref=c.reference), paragraphs)


def reject_complaint(c: Complaint, *, reason: str) -> None:
    """Refuse a complaint as not valid (e.g. not about accreditation); the complainant is told
    why."""
    _require(*HANDLERS)
    _ensure(c, S.rejected, S.received, S.acknowledged)
    c.rejection_reason = _bounded(reason, TEXT_MAX, "reason",
                                  required=_("Give the reason the complainant will read."))
    _move(c, S.rejected, "complaint.rejected", c.rejection_reason)
    _mail_complainant(c, _("Complaint %(ref)s", ref=c.reference), [
        _("We have reviewed your complaint %(ref)s and cannot handle it as a complaint, for this "
          "reason:", ref=c.reference), c.rejection_reason])


def withdraw_complaint(c: Complaint, *, note: str) -> None:
    """Record that the complainant withdrew the complaint (how they told us: the note)."""
    _require(*HANDLERS)
    _ensure(c, S.withdrawn, *OPEN)
    c.withdrawal_note = _bounded(note, TEXT_MAX, "note",
                                 required=_("Say how the complainant withdrew it."))
    _move(c, S.withdrawn, "complaint.withdrawn", c.withdrawal_note)
    _mail_complainant(c, _("Complaint %(ref)s withdrawn", ref=c.reference), [
        _("As you asked, we have closed your complaint %(ref)s as withdrawn.", ref=c.reference)])


def add_note(c: Complaint, *, body: str) -> ComplaintEntry:
    """An internal note (never sent, never shown to the CAB)."""
    _require(*HANDLERS, allow_user_id=c.investigator_id)
    body = _bounded(body, TEXT_MAX, "body", required=_("Write the note."))
    e = _entry(c, EntryKind.note, body)
    db.session.flush()
    audit.record("complaint.note_added", c, changes={"entry_id": [None, e.id]})
    return e


def send_update(c: Complaint, *, body: str) -> ComplaintEntry:
    """A progress update e-mailed to the complainant (open complaints only)."""
    _require(*HANDLERS, allow_user_id=c.investigator_id)
    if not c.is_open:
        raise Conflict(_("The complaint is %(s)s: its last notice has been sent.",
                         s=c.status.replace("_", " ")))
    body = _bounded(body, TEXT_MAX, "body", required=_("Write the update."))
    sent = _mail_complainant(c, _("Complaint %(ref)s: progress", ref=c.reference), [body])
    e = _entry(c, EntryKind.update, body, sent=sent)
    db.session.flush()
    audit.record("complaint.update_sent", c, changes={"entry_id": [None, e.id],
                                                      "sent": [None, sent]})
    return e


# -- queries the lists and the job use --------------------------------------------------------------


def overdue_condition(today: date):
    """SQL: a complaint with a step late on ``today`` (see ``Complaint.overdue_steps``)."""
    return or_(
        and_(Complaint.status == S.received.value, Complaint.ack_due_on < today),
        and_(Complaint.status == S.referred.value, Complaint.cab_responded_at.is_(None),
             Complaint.cab_response_due_on < today),
        and_(Complaint.status.in_([s.value for s in S if s not in
                                   (S.closed, S.rejected, S.withdrawn)]),
             Complaint.resolution_due_on < today),
    )
