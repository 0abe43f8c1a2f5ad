"""CAB portal: assessment plans, teams and objections (under /<tenant>/portal/assessments).

A CAB user sees the plan the accreditation body shares with the CAB — type, mode (with the
justification for remote means), dates, locations, agenda, the sampled scope lines, the team
with roles and organisations (rule 4), the objection window — and the CAB's own objections with
their resolutions. Never the internal notes, the risk consideration, the effort estimate, the
team checks or anything of another CAB: the pages read only the shared fields, and the CAB
filter of the tenancy layer confines every query to the user's CAB.

Visibility: a draft has no team shared yet, so drafts are not listed and are a 404; a cancelled
assessment is shown (with its status) only if its team had been proposed to the CAB.

Only pure CAB users get in (the portal's own guard, ``cab_user_only``: AB staff get 403, as on
every portal page). Another CAB's or tenant's assessment is a 404.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from accreditor.assessments import printing, services
from accreditor.assessments import team as team_services
from accreditor.assessments.forms import (
    ROLE_LABELS,
    assessment_labels,
)
from accreditor.assessments.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    AssessmentStatus,
    ObjectionStatus,
    TeamObjection,
)
from accreditor.auth.models import User
from accreditor.cabs.models import CabLocation
from accreditor.core.db import commit
from accreditor.core.errors import DomainError, ValidationFailed, show_error
from accreditor.extensions import db
from accreditor.portal.views import cab_user_only
from accreditor.refdata.models import Programme
from accreditor.scopes.models import Accreditation, ScopeItem

bp = Blueprint("cab_assessments", __name__, url_prefix="/portal/assessments")

S = AssessmentStatus
PAGE_SIZE = 50


class PortalObjectionForm(FlaskForm):
    """The CAB objects to one member of the proposed team. The member list offers the current
    team; whether the person may be objected to is the service's rule (its reason is shown
    beside the field), so the choice is not validated here."""

    user_id = SelectField(_l("Team member"), choices=[], validate_choice=False,
                          validators=[InputRequired(_l("Choose the team member you object to."))])
    reason = TextAreaField(
        _l("Your reason"), validators=[InputRequired(_l("Give the reason for the objection."))],
        description=_l("For example a conflict of interest: the person worked for you, for a "
                       "competitor or for a consultant of yours."))


bp.context_processor(assessment_labels)


def _shared_with_cab():
    """The assessments the CAB may see: from team proposed onward, and cancelled ones whose
    team had been proposed (a draft has nothing shared yet)."""
    return or_(Assessment.status.notin_([S.draft.value, S.cancelled.value]),
               and_(Assessment.status == S.cancelled.value,
                    Assessment.team_notified_at.is_not(None)))


# -- the list -----------------------------------------------------------------------------------


@bp.get("/")
@cab_user_only
def index():
    total = db.session.execute(
        select(func.count(Assessment.id)).where(_shared_with_cab())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = db.session.execute(
        select(Assessment, Programme.code, Programme.name, Accreditation.number,
               services.lead_name_column().label("lead"))
        .join(Accreditation, Accreditation.id == Assessment.accreditation_id)
        .join(Programme, Programme.id == Accreditation.programme_id)
        .where(_shared_with_cab())
        .order_by(Assessment.planned_start_on.desc(), Assessment.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template("portal/assessments/index.html", rows=rows, total=total, page=page,
                           pages=pages)


# -- one assessment -----------------------------------------------------------------------------


def _load(assessment_id: int) -> Assessment:
    """The CAB's own shared assessment, or 404 (a draft, another CAB's, another tenant's)."""
    a = db.session.execute(
        select(Assessment).where(Assessment.id == assessment_id, _shared_with_cab())
        .options(joinedload(Assessment.accreditation).joinedload(Accreditation.programme))
    ).scalar_one_or_none()
    if a is None:
        abort(404)
    return a


def _may_object(a: Assessment) -> bool:
    return a.status_enum in team_services.OBJECTABLE and team_services.window_open(a)


def _objection_form(team: list[dict], formdata=None) -> PortalObjectionForm:
    form = PortalObjectionForm(formdata=formdata)
    form.user_id.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(str(m["user_id"]), f"{m['name']} ({ROLE_LABELS.get(m['role'], m['role'])})")
        for m in team]
    return form


def _sampled_lines(a: Assessment) -> list:
    return db.session.execute(
        select(ScopeItem.id, ScopeItem.position, ScopeItem.summary)
        .join(AssessmentItem, AssessmentItem.scope_item_id == ScopeItem.id)
        .where(AssessmentItem.assessment_id == a.id)
        .order_by(ScopeItem.position, ScopeItem.id)).all()


def _objections(a: Assessment) -> list[dict]:
    """The CAB's objections on this assessment (the CAB filter keeps them to its own), with the
    name of the member objected to; who decided inside the AB is not shown."""
    rows = db.session.execute(
        select(TeamObjection, User.name)
        .join(User, User.id == TeamObjection.user_id)
        .where(TeamObjection.assessment_id == a.id, TeamObjection.cab_id == a.cab_id)
        .order_by(TeamObjection.id)).all()
    out = [{"objection": o, "member": name} for o, name in rows]
    return sorted(out, key=lambda r: (r["objection"].status != ObjectionStatus.open.value,
                                      r["objection"].id))


def _render(a: Assessment, *, form: PortalObjectionForm | None = None, status: int = 200):
    team = team_services.team_listing(a)
    locations = {loc.code: loc for loc in db.session.execute(
        select(CabLocation).where(CabLocation.cab_id == a.cab_id)).scalars()}
    may_object = _may_object(a) and bool(team)
    form = form or _objection_form(team)
    return render_template(
        "portal/assessments/show.html", a=a, team=team, locations=locations,
        lines=_sampled_lines(a), objections=_objections(a),
        window_open=team_services.window_open(a), may_object=may_object, form=form,
        remote=a.mode != AssessmentMode.onsite.value,
        plan_printable=a.status_enum in printing.PLAN_SHARED,
        report_printable=a.status_enum in printing.REPORT_ISSUED), status


@bp.get("/<int:assessment_id>")
@cab_user_only
def show(assessment_id: int):
    return _render(_load(assessment_id))


@bp.post("/<int:assessment_id>/objections", endpoint="object")
@cab_user_only
def object_to_member(assessment_id: int):
    a = _load(assessment_id)
    team = team_services.team_listing(a)
    form = _objection_form(team, formdata=request.form)
    if not form.validate_on_submit():
        return _render(a, form=form, status=400)
    raw = (form.user_id.data or "").strip()
    try:
        if not raw.isdigit():
            raise ValidationFailed(_("This person is not on the proposed team."),
                                   field="user_id")
        team_services.raise_objection(a, int(raw), form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        a = _load(assessment_id)
        show_error(form, exc)
        return _render(a, form=form, status=exc.status)
    commit()
    flash(_("Your objection was sent to the accreditation body. You will be told how it is "
            "resolved."), "success")
    return redirect(url_for(".show", assessment_id=assessment_id) + "#objections")

