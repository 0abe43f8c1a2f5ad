"""Forms of the assessor register. They check shapes only; the rules (who may, reference
lists, dates) are the services' (``register.py``, ``register_areas.py``), whose messages are
shown beside the field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from accreditor.assessments.models import AuthorisationRole, AuthorisationStatus, InterestKind
from accreditor.assessments.register_areas import AREA_KIND_LABELS, WHOLE_PROGRAMME

AUTH_ROLE_LABELS = {
    AuthorisationRole.lead_assessor: _l("Lead assessor"),
    AuthorisationRole.assessor: _l("Assessor"),
    AuthorisationRole.technical_expert: _l("Technical expert"),
    AuthorisationRole.observer: _l("Observer / trainee"),
}
AUTH_STATE_LABELS = {
    AuthorisationStatus.proposed.value: _l("Proposed"),
    AuthorisationStatus.approved.value: _l("Approved"),
    AuthorisationStatus.withdrawn.value: _l("Withdrawn"),
    "current": _l("Current"),
    "expired": _l("Expired"),
    "not_yet_valid": _l("Not yet valid"),
}
AUTH_STATE_BADGES = {"proposed": "info", "withdrawn": "secondary", "current": "success",
                     "expired": "danger", "not_yet_valid": "warning"}
INTEREST_LABELS = {
    InterestKind.consultancy: _l("Consultancy"),
    InterestKind.employment: _l("Employment"),
    InterestKind.financial: _l("Financial interest"),
    InterestKind.other: _l("Other"),
}


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(r.value, lbl) for r, lbl in AUTH_ROLE_LABELS.items()]


def area_kind_choices() -> list[SelectChoice]:
    return [SelectChoice("", WHOLE_PROGRAMME)] + [
        SelectChoice(k, lbl) for k, lbl in AREA_KIND_LABELS.items()]


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    FILTERS = ("programme", "role", "area", "overdue", "q")

    q = StringField(_l("Name, e-mail or organisation"), validators=[Optional()])
    programme = SelectField(_l("Programme"), choices=[], validators=[Optional()])
    role = SelectField(_l("Role"), choices=[], validators=[Optional()])
    area = StringField(_l("Technical area"), validators=[Optional()],
                       description=_l("A code or part of a name: 28, PRES, Food …"))
    overdue = SelectField(_l("On-site monitoring"), choices=[
        SelectChoice("", _l("Any")), SelectChoice("1", _l("Overdue"))], validators=[Optional()])


class ProfileForm(FlaskForm):
    organisation = StringField(_l("Organisation (shown to the CAB with the team)"),
                               validators=[Optional(), Length(max=200)])
    is_external = BooleanField(_l("External (freelance or contracted) assessor"))
    last_onsite_monitoring_on = DateField(_l("Last on-site monitoring"),
                                          validators=[Optional()])
    monitoring_notes = TextAreaField(_l("Monitoring notes"))


class AuthorisationForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices())
    programme_id = SelectField(_l("Programme"), choices=[])
    area_kind = SelectField(_l("Technical areas from"), choices=area_kind_choices(),
                            validators=[Optional()])
    areas = StringField(_l("Technical areas"),
                        description=_l("Codes separated by “;”, e.g. “28; 34” or “cluster:Food” "
                                       "for IAF, “PRES; TEMP” for calibration. Empty with “Whole "
                                       "programme”."))
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    valid_to = DateField(_l("Valid to (first day it no longer counts)"),
                         validators=[Optional()])
    notes = TextAreaField(_l("Basis (training, examination, witnessed assessments)"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired()])


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class EvidenceForm(FlaskForm):
    file = FileField(_l("Evidence document"), validators=[FileRequired(_l("Choose a file."))])


class DeclarationForm(FlaskForm):
    kind = SelectField(_l("Kind of interest"),
                       choices=[SelectChoice(k.value, lbl) for k, lbl in INTEREST_LABELS.items()])
    cab_id = SelectField(_l("CAB"), choices=[], validators=[Optional()])
    organisation = StringField(_l("Or another organisation (a related body, a consultancy)"),
                               validators=[Optional(), Length(max=250)])
    started_on = DateField(_l("Started"), validators=[InputRequired()])
    ended_on = DateField(_l("Ended (last day; empty if ongoing)"), validators=[Optional()])
    description = TextAreaField(_l("Details"))


class EndDeclarationForm(FlaskForm):
    ended_on = DateField(_l("Ended on"), validators=[InputRequired()])
