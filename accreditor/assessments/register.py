"""The assessor register: profiles, authorisations (ISO/IEC 17011 6.1.2) and declarations of
interest (4.4, rules 2-3).

Who may do what:

* admins and accreditation managers edit profiles, propose, approve and withdraw
  authorisations, attach evidence and record declarations for anyone — but nobody approves an
  authorisation of their own;
* an assessor reads their own entry, and records, edits and ends their own declarations;
* decision makers read the register.

An authorisation counts from ``valid_from`` and stops counting ON ``valid_to`` (the first day it
no longer applies): on that day it shows as expired. Its technical areas are checked by
:func:`accreditor.assessments.register_areas.clean_areas` against the programme's reference
lists.

The register page runs a fixed number of queries whatever the number of assessors.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import String, and_, cast, exists, func, or_, select

from accreditor.assessments.models import (
    AssessorAuthorisation,
    AssessorProfile,
    AuthorisationRole,
    AuthorisationStatus,
    InterestDeclaration,
    InterestKind,
)
from accreditor.assessments.register_areas import AREA_KIND_LABELS, SCHEME, clean_areas
from accreditor.assessments.team import monitoring_overdue
from accreditor.auth.models import Membership, MembershipRole, User
from accreditor.cabs.models import Cab
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from accreditor.core.permissions import Role, acting_user, has_role
from accreditor.documents import services as documents
from accreditor.documents.models import Confidentiality, Document
from accreditor.extensions import db
from accreditor.refdata.models import Programme, RefTerm
from accreditor.tenants.models import TenantPolicy

MANAGERS = (Role.admin, Role.manager)
READERS = (Role.admin, Role.manager, Role.decision_maker)
EVIDENCE_OWNER = "authorisation"


def today() -> date:
    return date.today()


# -- permissions --------------------------------------------------------------------------------


def can_manage() -> bool:
    """Profiles, authorisations, evidence and anyone's declarations: admins and managers."""
    return acting_user() is None or has_role(*MANAGERS)


def can_read(user_id: int) -> bool:
    """Another person's register entry: admins, managers and decision makers; one's own: all."""
    actor = acting_user()
    return actor is None or actor.id == user_id or has_role(*READERS)


def can_edit_declaration(decl: InterestDeclaration) -> bool:
    """The person who declared, or a manager."""
    actor = acting_user()
    return actor is None or actor.id == decl.user_id or has_role(*MANAGERS)


def _require_manager(message: str) -> None:
    if not can_manage():
        raise PermissionDenied(message)


# -- who is on the register ---------------------------------------------------------------------


def assessor_ids_stmt():
    """Users with an active membership holding the assessor role, in the current tenant."""
    return (select(Membership.user_id)
            .join(MembershipRole, MembershipRole.membership_id == Membership.id)
            .where(Membership.is_active, MembershipRole.role == Role.assessor.value))


def assessor(user_id: int) -> User:
    """The user, if they hold the assessor role here; raises NotFound otherwise."""
    user = db.session.execute(
        select(User).where(User.id == user_id, User.id.in_(assessor_ids_stmt()))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(_("There is no assessor with this number."))
    return user


def policy() -> TenantPolicy:
    return TenantPolicy.current()


def current_condition(on: date):
    """SQL for "approved and valid on ``on``" (``valid_to`` is the first day it stops)."""
    a = AssessorAuthorisation
    return and_(a.status == AuthorisationStatus.approved.value, a.valid_from <= on,
                or_(a.valid_to.is_(None), a.valid_to > on))


def authorisation_state(auth: AssessorAuthorisation, on: date | None = None) -> str:
    """What the register shows: proposed, withdrawn, expired, not yet valid or current."""
    on = on or today()
    if auth.status != AuthorisationStatus.approved:
        return auth.status
    if auth.valid_to is not None and auth.valid_to <= on:
        return "expired"
    if auth.valid_from > on:
        return "not_yet_valid"
    return "current"


@dataclass
class RegisterRow:
    user_id: int
    name: str
    email: str
    organisation: str | None
    is_external: bool
    last_monitoring: date | None
    overdue: bool
    by_programme: list[tuple[str, int]]  # (programme code, current authorisations)
    declarations: int  # current declarations


@dataclass
class RegisterPage:
    rows: list[RegisterRow]
    total: int
    page: int
    pages: int
    interval_months: int


def _area_codes_matching(text: str) -> set[str]:
    """Reference codes whose code or name contains ``text`` (one query)."""
    kinds = [k for k in AREA_KIND_LABELS if k != SCHEME]
    rows = db.session.execute(
        select(RefTerm.code, RefTerm.group).where(
            RefTerm.kind.in_(kinds),
            or_(RefTerm.code.icontains(text, autoescape=True),
                RefTerm.name.icontains(text, autoescape=True),
                RefTerm.group.icontains(text, autoescape=True)))
    ).all()
    return {code for code, _g in rows}


def register_page(*, programme_id: int | None = None, role: str | None = None,
                  area: str | None = None, overdue: bool = False, q: str | None = None,
                  page: int = 1, page_size: int = 50, on: date | None = None) -> RegisterPage:
    """One page of the register with its filters, in a fixed number of queries (policy, count,
    the page, authorisation counts, declaration counts, and one reference lookup for an area
    filter)."""
    on = on or today()
    interval = policy().onsite_monitoring_interval_months
    a = AssessorAuthorisation
    conds = [User.id.in_(assessor_ids_stmt())]
    auth_conds = []
    if programme_id:
        auth_conds.append(a.programme_id == programme_id)
    if role:
        auth_conds.append(a.role == role)
    area = (area or "").strip()
    if area:
        text = cast(a.areas, String)
        if area.isdigit():  # an IAF code: "3" is not "33"
            matches = [text.icontains(f'"{area}"', autoescape=True)]
        else:  # a code, part of one, or part of a name or cluster in the reference lists
            matches = [text.icontains(area, autoescape=True)] + [
                text.icontains(f'"{c}"', autoescape=True)
                for c in sorted(_area_codes_matching(area))]
        auth_conds.append(or_(*matches))
    if auth_conds:
        conds.append(exists().where(a.user_id == User.id, current_condition(on), *auth_conds))
    if overdue:
        oldest_ok = on - relativedelta(months=interval)
        conds.append(or_(AssessorProfile.last_onsite_monitoring_on.is_(None),
                         AssessorProfile.last_onsite_monitoring_on < oldest_ok))
    q = (q or "").strip()
    if q:
        conds.append(or_(User.name.icontains(q, autoescape=True),
                         User.email.icontains(q, autoescape=True),
                         AssessorProfile.organisation.icontains(q, autoescape=True)))
    base = select(User.id).outerjoin(AssessorProfile, AssessorProfile.user_id == User.id)
    total = db.session.execute(
        select(func.count()).select_from(base.where(*conds).subquery())).scalar_one()
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    people = db.session.execute(
        select(User.id, User.name, User.email, AssessorProfile.organisation,
               AssessorProfile.is_external, AssessorProfile.last_onsite_monitoring_on)
        .outerjoin(AssessorProfile, AssessorProfile.user_id == User.id)
        .where(*conds).order_by(func.lower(User.name), User.id)
        .limit(page_size).offset((page - 1) * page_size)
    ).all()
    ids = [p.id for p in people]
    counts: dict[int, list[tuple[str, int]]] = defaultdict(list)
    decls: dict[int, int] = {}
    if ids:
        for uid, code, n in db.session.execute(
                select(a.user_id, Programme.code, func.count(a.id))
                .join(Programme, Programme.id == a.programme_id)
                .where(a.user_id.in_(ids), current_condition(on))
                .group_by(a.user_id, Programme.code).order_by(Programme.code)):
            counts[uid].append((code, n))
        d = InterestDeclaration
        decls = dict(db.session.execute(
            select(d.user_id, func.count(d.id))
            .where(d.user_id.in_(ids), d.started_on <= on,
                   or_(d.ended_on.is_(None), d.ended_on >= on))
            .group_by(d.user_id)).all())
    rows = [RegisterRow(p.id, p.name, p.email, p.organisation, bool(p.is_external),
                        p.last_onsite_monitoring_on,
                        monitoring_overdue(p.last_onsite_monitoring_on, interval, on),
                        counts.get(p.id, []), decls.get(p.id, 0)) for p in people]
    return RegisterPage(rows, total, page, pages, interval)


# -- profile ------------------------------------------------------------------------------------


PROFILE_FIELDS = ("organisation", "is_external", "last_onsite_monitoring_on", "monitoring_notes")


def profile_of(user_id: int) -> AssessorProfile | None:
    return db.session.execute(
        select(AssessorProfile).where(AssessorProfile.user_id == user_id)).scalar_one_or_none()


def update_profile(user_id: int, *, organisation: str | None, is_external: bool,
                   last_onsite_monitoring_on: date | None, monitoring_notes: str | None,
                   on: date | None = None) -> dict:
    """Admins and managers record the organisation, external flag and on-site monitoring.
    The monitoring date cannot be in the future. Returns the changes (audited)."""
    _require_manager(_("Only administrators and accreditation managers edit register "
                       "profiles."))
    assessor(user_id)
    on = on or today()
    if last_onsite_monitoring_on is not None and last_onsite_monitoring_on > on:
        raise ValidationFailed(_("The last on-site monitoring cannot be in the future."),
                               field="last_onsite_monitoring_on")
    profile = profile_of(user_id)
    created = profile is None
    if profile is None:
        profile = AssessorProfile(user_id=user_id)
        db.session.add(profile)
    profile.organisation = (organisation or "").strip() or None
    profile.is_external = bool(is_external)
    profile.last_onsite_monitoring_on = last_onsite_monitoring_on
    profile.monitoring_notes = (monitoring_notes or "").strip() or None
    changes = audit.diff(profile)
    if created or changes:
        db.session.flush()
        audit.record("assessor.profile_updated", profile,
                     changes={**changes, "user_id": [None, user_id]} if created else changes)
    return changes


# -- authorisations -----------------------------------------------------------------------------


AUTH_FIELDS = ("user_id", "role", "programme_id", "area_kind", "areas", "valid_from",
               "valid_to", "status", "notes", "proposed_by_id")


def _programme(programme_id) -> Programme:
    try:
        pid = int(programme_id)
    except (TypeError, ValueError):
        pid = 0
    programme = db.session.execute(
        select(Programme).where(Programme.id == pid)).scalar_one_or_none()
    if programme is None:
        raise ValidationFailed(_("Choose a programme."), field="programme_id")
    return programme


def propose_authorisation(user_id: int, *, role: str, programme_id: int,
                          area_kind: str | None, areas, valid_from: date | None,
                          valid_to: date | None, notes: str | None = None
                          ) -> AssessorAuthorisation:
    """A manager proposes person × role × programme × areas × validity; it counts only once
    another manager approves it. ``valid_to`` must be after ``valid_from``."""
    _require_manager(_("Only administrators and accreditation managers propose "
                       "authorisations."))
    assessor(user_id)
    try:
        role = AuthorisationRole(role).value
    except ValueError:
        raise ValidationFailed(_("Choose a role."), field="role") from None
    programme = _programme(programme_id)
    if valid_from is None:
        raise ValidationFailed(_("Give the first day the authorisation is valid."),
                               field="valid_from")
    if valid_to is not None and valid_to <= valid_from:
        raise ValidationFailed(_("“Valid to” must be after “valid from” (it is the first day "
                                 "the authorisation no longer counts)."), field="valid_to")
    kind, clean = clean_areas(programme, area_kind, areas)
    actor = acting_user()
    auth = AssessorAuthorisation(
        user_id=user_id, role=role, programme_id=programme.id, area_kind=kind, areas=clean,
        valid_from=valid_from, valid_to=valid_to, status=AuthorisationStatus.proposed.value,
        notes=(notes or "").strip() or None, proposed_by_id=actor.id if actor else None)
    db.session.add(auth)
    db.session.flush()
    audit.record("assessor.authorisation_proposed", auth,
                 changes=audit.snapshot(auth, AUTH_FIELDS))
    return auth


def approve_authorisation(auth: AssessorAuthorisation, *, on: date | None = None) -> None:
    """A manager approves a proposed authorisation — never their own, and never one they
    proposed (four eyes); its areas are checked again; an authorisation that has already
    expired is not approved."""
    _require_manager(_("Only administrators and accreditation managers approve "
                       "authorisations."))
    actor = acting_user()
    if actor is not None and actor.id == auth.user_id:
        raise PermissionDenied(_("You cannot approve your own authorisation; another manager "
                                 "must."))
    if actor is not None and actor.id == auth.proposed_by_id:
        raise PermissionDenied(_("You proposed this authorisation; another manager approves "
                                 "it (four eyes)."))
    if auth.status != AuthorisationStatus.proposed:
        raise Conflict(_("Only a proposed authorisation can be approved; this one is %(s)s.",
                         s=auth.status))
    on = on or today()
    if auth.valid_to is not None and auth.valid_to <= on:
        raise Conflict(_("This authorisation expired on %(d)s; propose a new one.",
                         d=auth.valid_to.isoformat()))
    programme = _programme(auth.programme_id)
    clean_areas(programme, auth.area_kind, auth.areas)
    auth.status = AuthorisationStatus.approved.value
    auth.approved_at = utcnow()
    auth.approved_by_id = actor.id if actor is not None else None
    changes = audit.diff(auth)
    db.session.flush()
    audit.record("assessor.authorisation_approved", auth, changes=changes)


def withdraw_authorisation(auth: AssessorAuthorisation, reason: str | None) -> None:
    """A manager withdraws a proposed or approved authorisation, with a reason; it stops
    counting at once."""
    _require_manager(_("Only administrators and accreditation managers withdraw "
                       "authorisations."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for withdrawing the authorisation."),
                               field="reason")
    if auth.status == AuthorisationStatus.withdrawn:
        raise Conflict(_("This authorisation has already been withdrawn."))
    auth.status = AuthorisationStatus.withdrawn.value
    auth.approved_at = None  # the database ties approved_at to the approved state
    stamp = _("Withdrawn on %(d)s: %(r)s", d=today().isoformat(), r=reason)
    auth.notes = f"{auth.notes}\n{stamp}" if auth.notes else stamp
    changes = audit.diff(auth)
    db.session.flush()
    audit.record("assessor.authorisation_withdrawn", auth,
                 changes={**changes, "reason": [None, reason]})


def authorisations_of(user_id: int) -> list[tuple[AssessorAuthorisation, Programme, str | None]]:
    """(authorisation, programme, approver's name), newest first, in one query."""
    approver = User.__table__.alias("approver")
    return [tuple(r) for r in db.session.execute(
        select(AssessorAuthorisation, Programme, approver.c.name)
        .join(Programme, Programme.id == AssessorAuthorisation.programme_id)
        .outerjoin(approver, approver.c.id == AssessorAuthorisation.approved_by_id)
        .where(AssessorAuthorisation.user_id == user_id)
        .order_by(Programme.sort_order, AssessorAuthorisation.valid_from.desc(),
                  AssessorAuthorisation.id.desc())).all()]


def evidence_for(auth_ids: list[int]) -> dict[int, list[Document]]:
    """Current evidence documents of the authorisations, in one query."""
    if not auth_ids:
        return {}
    out: dict[int, list[Document]] = defaultdict(list)
    for doc in db.session.execute(
            select(Document).where(Document.owner_type == EVIDENCE_OWNER,
                                   Document.owner_id.in_(auth_ids),
                                   Document.superseded_at.is_(None))
            .order_by(Document.created_at, Document.id)).scalars():
        out[doc.owner_id].append(doc)
    return out


def add_evidence(auth: AssessorAuthorisation, file_storage) -> Document:
    """A manager attaches evidence (training record, exam, witnessed assessment) to an
    authorisation; internal to the AB. Raises FileTooLarge (413) or UnsupportedFileType."""
    _require_manager(_("Only administrators and accreditation managers attach evidence."))
    if file_storage is None or not getattr(file_storage, "filename", ""):
        raise ValidationFailed(_("Choose a file to upload."), field="file")
    doc = documents.store_upload(file_storage, owner_type=EVIDENCE_OWNER, owner_id=auth.id,
                                 cab_id=None, confidentiality=Confidentiality.internal)
    audit.record("assessor.evidence_added", auth,
                 changes={"document_id": [None, doc.id], "name": [None, doc.original_name]})
    return doc


def remove_evidence(auth: AssessorAuthorisation, doc: Document) -> None:
    """A manager removes (supersedes) an evidence document; the file stays on record."""
    _require_manager(_("Only administrators and accreditation managers remove evidence."))
    if doc.owner_type != EVIDENCE_OWNER or doc.owner_id != auth.id:
        raise NotFound(_("This document is not evidence of this authorisation."))
    documents.supersede_document(doc)
    audit.record("assessor.evidence_removed", auth,
                 changes={"document_id": [doc.id, None], "name": [doc.original_name, None]})


def can_view_evidence(doc: Document, membership) -> bool:
    """Admins, managers and decision makers read evidence; an assessor only their own."""
    if membership is None or not membership.is_active:
        return False
    if membership.has_any_role(*READERS):
        return True
    if not membership.has_any_role(Role.assessor):
        return False
    owner = db.session.execute(
        select(AssessorAuthorisation.user_id).where(AssessorAuthorisation.id == doc.owner_id)
    ).scalar_one_or_none()
    return owner is not None and owner == membership.user_id


documents.register_owner(EVIDENCE_OWNER, can_view=can_view_evidence)


# -- declarations of interest -------------------------------------------------------------------


DECL_FIELDS = ("user_id", "kind", "cab_id", "organisation", "started_on", "ended_on",
               "description")


def _clean_declaration(*, kind, cab_id, organisation, started_on, ended_on, description
                       ) -> dict:
    try:
        kind = InterestKind(kind).value
    except ValueError:
        raise ValidationFailed(_("Choose the kind of interest."), field="kind") from None
    organisation = (organisation or "").strip() or None
    cab = None
    if cab_id not in (None, "", 0, "0"):
        try:
            cid = int(cab_id)
        except (TypeError, ValueError):
            cid = 0
        cab = db.session.execute(select(Cab.id).where(Cab.id == cid)).scalar_one_or_none()
        if cab is None:
            raise ValidationFailed(_("Unknown CAB."), field="cab_id")
    if cab is None and organisation is None:
        raise ValidationFailed(_("Choose the CAB concerned, or name the organisation (a body "
                                 "related to a CAB, a consultancy, an employer)."),
                               field="cab_id")
    if cab is not None and organisation is not None:
        raise ValidationFailed(_("Choose a CAB from the list or name another organisation, not "
                                 "both; declare each link separately."), field="organisation")
    if started_on is None:
        raise ValidationFailed(_("Give the date the relationship started."), field="started_on")
    if ended_on is not None and ended_on < started_on:
        raise ValidationFailed(_("The end date cannot be before the start date."),
                               field="ended_on")
    return {"kind": kind, "cab_id": cab, "organisation": organisation, "started_on": started_on,
            "ended_on": ended_on, "description": (description or "").strip() or None}


def _audit_declaration(action: str, decl: InterestDeclaration, changes: dict) -> None:
    """Audited without a subject CAB: a declaration is the assessor's own information (readable
    by managers on the register), not part of the CAB's history that every staff role reads."""
    audit.record(action, object_type="InterestDeclaration", object_id=decl.id, changes=changes)


def record_declaration(user_id: int, **data) -> InterestDeclaration:
    """An assessor declares a link with a CAB or a related body; managers may record one for
    anyone on the register."""
    actor = acting_user()
    if actor is not None and actor.id != user_id and not has_role(*MANAGERS):
        raise PermissionDenied(_("You can only record your own declarations."))
    assessor(user_id)
    decl = InterestDeclaration(user_id=user_id, **_clean_declaration(**data))
    db.session.add(decl)
    db.session.flush()
    _audit_declaration("assessor.declaration_recorded", decl, audit.snapshot(decl, DECL_FIELDS))
    return decl


def update_declaration(decl: InterestDeclaration, **data) -> dict:
    """The declarer (or a manager) corrects a declaration. Returns the changes (audited)."""
    if not can_edit_declaration(decl):
        raise PermissionDenied(_("You can only change your own declarations."))
    for key, value in _clean_declaration(**data).items():
        setattr(decl, key, value)
    changes = audit.diff(decl)
    if changes:
        db.session.flush()
        _audit_declaration("assessor.declaration_updated", decl, changes)
    return changes


def end_declaration(decl: InterestDeclaration, ended_on: date | None) -> None:
    """The relationship has ended: its last day, not before it started."""
    if not can_edit_declaration(decl):
        raise PermissionDenied(_("You can only change your own declarations."))
    if decl.ended_on is not None:
        raise Conflict(_("This declaration already ended on %(d)s; edit it to change the date.",
                         d=decl.ended_on.isoformat()))
    if ended_on is None:
        raise ValidationFailed(_("Give the date the relationship ended."), field="ended_on")
    if ended_on < decl.started_on:
        raise ValidationFailed(_("The end date cannot be before the start date (%(d)s).",
                                 d=decl.started_on.isoformat()), field="ended_on")
    decl.ended_on = ended_on
    changes = audit.diff(decl)
    db.session.flush()
    _audit_declaration("assessor.declaration_ended", decl, changes)


def declarations_of(user_id: int) -> list[tuple[InterestDeclaration, str | None]]:
    """(declaration, CAB name), current first, in one query."""
    rows = db.session.execute(
        select(InterestDeclaration, Cab.legal_name)
        .outerjoin(Cab, Cab.id == InterestDeclaration.cab_id)
        .where(InterestDeclaration.user_id == user_id)
        .order_by(InterestDeclaration.started_on.desc(), InterestDeclaration.id.desc())).all()
    return sorted(((d, name) for d, name in rows), key=lambda r: r[0].ended_on is not None)


def declaration_is_current(decl: InterestDeclaration, on: date | None = None) -> bool:
    on = on or today()
    return decl.started_on <= on and (decl.ended_on is None or decl.ended_on >= on)


__all__ = ["register_page", "update_profile", "propose_authorisation", "approve_authorisation",
           "withdraw_authorisation", "add_evidence", "remove_evidence", "record_declaration",
           "update_declaration", "end_declaration"]
