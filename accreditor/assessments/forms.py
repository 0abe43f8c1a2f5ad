"""Forms for the staff assessment pages and the CAB portal's objections. The forms check
shapes only; every rule is the service's, whose messages are shown beside the fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from accreditor.assessments.estimator import factor_fields
from accreditor.assessments.models import (
    AssessmentMode,
    AssessmentStatus,
    AssessmentType,
    TeamRole,
)
from accreditor.auth.forms import MultiCheckboxField

TYPE_LABELS = {
    AssessmentType.document_review: _l("Document review"),
    AssessmentType.pre_assessment: _l("Pre-assessment"),
    AssessmentType.initial: _l("Initial assessment"),
    AssessmentType.surveillance: _l("Surveillance"),
    AssessmentType.reassessment: _l("Reassessment"),
    AssessmentType.extension: _l("Extension"),
    AssessmentType.follow_up: _l("Follow-up"),
    AssessmentType.special: _l("Special / short-notice"),
    AssessmentType.witness: _l("Witness"),
}
MODE_LABELS = {AssessmentMode.onsite: _l("On-site"), AssessmentMode.remote: _l("Remote"),
               AssessmentMode.hybrid: _l("Hybrid")}
ROLE_LABELS = {TeamRole.lead: _l("Lead assessor"), TeamRole.assessor: _l("Assessor"),
               TeamRole.technical_expert: _l("Technical expert"),
               TeamRole.observer: _l("Observer / trainee")}
STATUS_LABELS = {
    AssessmentStatus.draft: _l("Draft"),
    AssessmentStatus.team_proposed: _l("Team proposed"),
    AssessmentStatus.team_confirmed: _l("Team confirmed"),
    AssessmentStatus.plan_approved: _l("Plan approved"),
    AssessmentStatus.in_progress: _l("In progress"),
    AssessmentStatus.report_issued: _l("Report issued"),
    AssessmentStatus.closed: _l("Closed"),
    AssessmentStatus.cancelled: _l("Cancelled"),
}
STATUS_BADGES = {
    AssessmentStatus.draft: "secondary",
    AssessmentStatus.team_proposed: "info",
    AssessmentStatus.team_confirmed: "info",
    AssessmentStatus.plan_approved: "primary",
    AssessmentStatus.in_progress: "warning",
    AssessmentStatus.report_issued: "success",
    AssessmentStatus.closed: "dark",
    AssessmentStatus.cancelled: "light",
}


class DetailsForm(FlaskForm):
    """The plan's details, editable until the plan is approved."""

    type = SelectField(_l("Type"), choices=[SelectChoice(t.value, lbl) for t, lbl in TYPE_LABELS.items()])
    mode = SelectField(_l("Mode"), choices=[SelectChoice(m.value, lbl) for m, lbl in MODE_LABELS.items()])
    planned_start_on = DateField(_l("Planned start"), validators=[InputRequired()])
    planned_end_on = DateField(_l("Planned end"), validators=[InputRequired()])
    remote_justification = TextAreaField(
        _l("Justification for remote means (IAF MD 4)"),
        description=_l("Required for remote and hybrid assessments (rule 36)."))
    ict_risk_note = TextAreaField(_l("ICT risk note"),
                                  description=_l("Required for remote and hybrid assessments: "
                                                 "connection, confidentiality, identification "
                                                 "of people and records (rule 36)."))
    onsite_not_applicable = BooleanField(
        _l("On-site assessment is not applicable"),
        description=_l("Only then does a remote assessment count as the on-site visit "
                       "(rule 9)."))
    onsite_not_applicable_reason = TextAreaField(
        _l("Why on-site is not applicable"),
        description=_l("Force majeure, a health or security crisis, a virtual site."))


class AssessmentForm(DetailsForm):
    """A new assessment: the details, the locations to visit and first internal notes."""

    location_codes = MultiCheckboxField(_l("Locations"), choices=[])
    internal_notes = TextAreaField(_l("Internal notes (never shown to the CAB)"))


class IdListField(Field):
    """Many values of one name (checked boxes), kept as strings for the service to check. A
    plain list, not a SelectMultipleField: checking 2,000 values against 2,000 choices would
    take quadratic time."""

    def process_formdata(self, valuelist):
        self.data = [v for v in valuelist if v]

    def _value(self):
        return ""


class SampleForm(FlaskForm):
    item_ids = IdListField(_l("Sampled lines"), default=list)
    shown = HiddenField()  # the ids of the lines the page showed (comma-separated)
    location_codes = MultiCheckboxField(_l("Locations visited"), choices=[])


class RiskForm(FlaskForm):
    risk_consideration = TextAreaField(
        _l("Risk consideration"), validators=[InputRequired()],
        description=_l("Activities, locations, personnel, initial vs accredited, and the residual "
                       "risk accepted with its rationale (rule 40)."))


class AgendaForm(FlaskForm):
    agenda = TextAreaField(_l("Agenda (shared with the CAB)"))


class NotesForm(FlaskForm):
    internal_notes = TextAreaField(_l("Internal notes (never shown to the CAB)"))


class ReportForm(FlaskForm):
    report_summary = TextAreaField(_l("Report summary"))
    scope_recommended = TextAreaField(_l("Scope recommended"))
    recommendation = SelectField(_l("Recommendation to the decision maker"), choices=[])


class ActualDaysForm(FlaskForm):
    actual_days = StringField(_l("Actual person-days"), validators=[InputRequired()])


class MemberForm(FlaskForm):
    user_id = SelectField(_l("Person"), coerce=int, choices=[])
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, lbl) for r, lbl in ROLE_LABELS.items()])


class RemoveMemberForm(FlaskForm):
    user_id = HiddenField(validators=[InputRequired()])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired()])


class ResolveForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=[
        SelectChoice("dismissed", _l("Dismiss: keep the member")),
        SelectChoice("upheld", _l("Uphold: replace the member"))])
    resolution = TextAreaField(_l("Resolution (the CAB is told)"), validators=[InputRequired()])


class RecordObjectionForm(FlaskForm):
    """An objection the CAB made by letter or telephone, recorded by staff."""

    user_id = SelectField(_l("Team member objected to"), coerce=int, choices=[])
    reason = TextAreaField(_l("The CAB's reason"), validators=[InputRequired()])


class ObjectionForm(FlaskForm):
    user_id = HiddenField(validators=[InputRequired()])
    reason = TextAreaField(_l("Reason for the objection"), validators=[InputRequired()])


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    FILTERS = ("status", "type", "mode", "cab_id", "programme", "date_from", "date_to", "mine")

    status = SelectField(_l("Status"), choices=[], validators=[Optional()])
    type = SelectField(_l("Type"), choices=[], validators=[Optional()])
    mode = SelectField(_l("Mode"), choices=[], validators=[Optional()])
    cab_id = SelectField(_l("CAB"), choices=[], validators=[Optional()])
    programme = SelectField(_l("Programme"), choices=[], validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    mine = SelectField(_l("Assessments"), choices=[
        SelectChoice("", _l("All")), SelectChoice("1", _l("Those I am on the team of"))],
        validators=[Optional()])


class AccreditationSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("CAB name or accreditation number"))


def effort_factors_form(values: dict, formdata=None):
    """The estimator settings form: one text field per factor (the service checks the
    numbers, so a bad value is reported beside its own field)."""

    class EffortFactorsForm(FlaskForm):
        pass

    for spec in factor_fields():
        setattr(EffortFactorsForm, spec.name,
                StringField(spec.name, default=str(values.get(spec.name, ""))))
    if formdata is None:
        return EffortFactorsForm(formdata=None)
    return EffortFactorsForm()


def assessment_labels() -> dict:
    """The label dictionaries every assessment page reads (a blueprint context processor)."""
    return {"type_labels": TYPE_LABELS, "mode_labels": MODE_LABELS,
            "status_labels": STATUS_LABELS, "status_badges": STATUS_BADGES,
            "role_labels": ROLE_LABELS}
