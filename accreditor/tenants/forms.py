from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from accreditor.tenants.models import GRADING_SCHEMES
from accreditor.tenants.policy import POLICY_RANGES


class TenantForm(FlaskForm):
    slug = StringField(_l("Short name (used in web addresses)"),
                       validators=[DataRequired(), Length(min=3, max=40)],
                       description=_l("Lower-case letters, digits and hyphens, e.g. “ukas”."))
    name = StringField(_l("Name of the accreditation body"),
                       validators=[DataRequired(), Length(max=200)])
    country = StringField(_l("Country (ISO code)"), validators=[DataRequired(), Length(min=2, max=2)])
    default_locale = SelectField(_l("Default language"), choices=[SelectChoice("en", "English")], default="en")
    admin_email = EmailField(_l("First administrator's e-mail"),
                             validators=[DataRequired(), Email(), Length(max=320)])
    admin_name = StringField(_l("First administrator's name"),
                             validators=[DataRequired(), Length(max=200)])


def _number(name: str, label, description=None):
    """An integer policy field with the range and message of POLICY_RANGES[name]."""
    rng = POLICY_RANGES[name]
    return IntegerField(
        label,
        validators=[InputRequired(message=_l("Give a whole number.")),
                    NumberRange(rng.lo, rng.hi, message=rng.message)],
        description=description,
        render_kw={"min": rng.lo, "max": rng.hi, "inputmode": "numeric"},
    )


class PolicyForm(FlaskForm):
    """Every field of TenantPolicy except the estimator factors (a JSON table of their own)."""

    cycle_length_months = _number(
        "cycle_length_months", _l("Accreditation cycle (months)"),
        _l("From the grant or reassessment decision to the end of the cycle; at most 60 (5 years)."))
    first_surveillance_months = _number(
        "first_surveillance_months", _l("First surveillance after grant (months)"),
        _l("Offset of the first surveillance in an initial cycle; at most 24."))
    surveillance_interval_months = _number(
        "surveillance_interval_months", _l("Surveillance interval (months)"),
        _l("Between later surveillances; at most 24."))
    onsite_interval_max_months = _number(
        "onsite_interval_max_months", _l("Longest gap between on-site assessments (months)"),
        _l("The programme planner blocks a plan above it; never above 24."))
    grading_scheme = SelectField(_l("Grading scheme for findings"),
                                 choices=[SelectChoice(k, v) for k, v in GRADING_SCHEMES.items()])
    response_due_days = _number(
        "response_due_days", _l("Response to findings due (days)"),
        _l("Correction and cause analysis due after the finding is issued; 1 to 365."))
    evidence_due_days = _number(
        "evidence_due_days", _l("Evidence of corrective action due (days)"),
        _l("Not before the response; 1 to 730."))
    finding_reminder_days = StringField(
        _l("Remind the CAB before a finding is due (days before)"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("Comma-separated, e.g. “7, 1”: a reminder 7 days and 1 day before each "
                       "due date."))
    finding_escalation_grace_days = _number(
        "finding_escalation_grace_days", _l("Grace after an evidence due date (days)"),
        _l("Then a suspension (or, for an applicant, a refusal) is proposed to the case "
           "manager; 0 to 180."))
    accreditation_number_format = StringField(
        _l("Accreditation number format"), validators=[DataRequired(), Length(max=60)],
        description=_l("Fields: {seq}, {programme}, {programme_seq}, {year}; e.g. {seq:04d} or "
                       "AB-{programme}-{seq:05d}."))
    application_validity_months = _number(
        "application_validity_months", _l("Application lapses after (months)"),
        _l("Without a grant decision, an application lapses this long after submission; 1 to 60."))
    consultancy_lookback_years = _number(
        "consultancy_lookback_years", _l("Consultancy look-back (years)"),
        _l("A person who consulted for the CAB within this time is not appointed to its team; "
           "0 to 10."))
    employment_lookback_years = _number(
        "employment_lookback_years", _l("Employment look-back (years)"),
        _l("The same for a person the CAB employed; 0 to 10."))
    decision_committee_size = _number(
        "decision_committee_size", _l("People who take each accreditation decision"),
        _l("1: one decision maker; more: a committee whose members all sign; 1 to 7."))
    max_suspension_months = _number(
        "max_suspension_months", _l("Longest suspension (months)"),
        _l("Then a withdrawal or reduction decision is due; 1 to 9."))
    light_surveillance_decisions = BooleanField(
        _l("Lighter path for clean surveillance outcomes"),
        description=_l("A surveillance report recommending “maintain” with no open finding may "
                       "be confirmed by the case manager instead of a decision maker."))
    max_suspension_extended_months = _number(
        "max_suspension_extended_months", _l("Longest suspension when extended (months)"),
        _l("A decision maker may extend a suspension, with a justification, up to this; 1 to 9."))
    resignation_notice_days = _number(
        "resignation_notice_days", _l("Notice for a voluntary withdrawal (days)"),
        _l("A resignation takes effect at least this long after the CAB asks; 0 to 365."))
    inactive_max_months = _number(
        "inactive_max_months", _l("Longest inactive period (months)"),
        _l("Then a withdrawal is proposed; 1 to 24."))
    appeal_window_months = _number(
        "appeal_window_months", _l("Appeal window (months after notification)"),
        _l("1 to 12."))
    appeal_ack_working_days = _number(
        "appeal_ack_working_days", _l("Acknowledge an appeal within (working days)"),
        _l("1 to 20."))
    appeal_outcome_working_days = _number(
        "appeal_outcome_working_days", _l("Decide an appeal within (working days)"),
        _l("1 to 90."))
    appeal_second_stage_months = _number(
        "appeal_second_stage_months", _l("Ask for an appeal panel within (months of the outcome)"),
        _l("1 to 12."))
    nc_appealable = BooleanField(
        _l("Nonconformities can be appealed"),
        description=_l("Ticked (UKAS style): a CAB may appeal a nonconformity. Unticked (ANAB "
                       "style): it may challenge it instead."))
    complaint_ack_working_days = _number(
        "complaint_ack_working_days", _l("Acknowledge a complaint within (working days)"),
        _l("1 to 30."))
    complaint_cab_response_days = _number(
        "complaint_cab_response_days", _l("A CAB answers a complaint referred to it within (days)"),
        _l("1 to 365."))
    complaint_resolution_days = _number(
        "complaint_resolution_days", _l("Close a complaint within (days of receipt)"),
        _l("1 to 365."))
    directory_retention_months = _number(
        "directory_retention_months", _l("Withdrawn bodies stay in the directory for (months)"),
        _l("0 to 120."))
    objection_window_days = _number(
        "objection_window_days", _l("CAB objection window for proposed teams (days)"),
        _l("An assessment starts only after it closes (or is waived); 1 to 60."))
    onsite_monitoring_interval_months = _number(
        "onsite_monitoring_interval_months",
        _l("Lead assessors' on-site monitoring at least every (months)"), _l("1 to 120."))
    witness_code_cycle_years = _number(
        "witness_code_cycle_years", _l("Each IAF code witnessed at least every (years)"),
        _l("1 to 10."))
    witness_due_soon_days = _number(
        "witness_due_soon_days", _l("Witness “due soon” warning (days before)"),
        _l("1 to 365."))


class IdentityForm(FlaskForm):
    """The AB's identity on its certificates and schedules (accreditor.certificates)."""

    public_address = TextAreaField(
        _l("Postal address"), validators=[Optional(), Length(max=500)],
        description=_l("As printed at the top of schedules and certificates; one line each."),
        render_kw={"rows": 4})
    website = URLField(_l("Website"), validators=[Optional(), URL(require_tld=False),
                                                  Length(max=300)])
    public_email = EmailField(_l("Public e-mail"), validators=[Optional(), Email(),
                                                              Length(max=320)])
    logo = FileField(_l("Logo (PNG or JPEG)"),
                     description=_l("Drawn on certificates and schedules issued from now on. "
                                    "Leave empty to keep the current one."))


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = StringField(_l("Action"), validators=[Optional(), Length(max=100)])
    actor = StringField(_l("Actor e-mail"), validators=[Optional(), Length(max=320)])
    object_type = StringField(_l("Object type"), validators=[Optional(), Length(max=60)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
