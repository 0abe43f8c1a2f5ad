from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from accreditor.tenants.models import GRADING_SCHEMES


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


def _months(label, lo, hi):
    return IntegerField(label, validators=[InputRequired(), NumberRange(lo, hi)])


class PolicyForm(FlaskForm):
    cycle_length_months = _months(_l("Accreditation cycle (months, ≤ 60)"), 12, 60)
    first_surveillance_months = _months(_l("First surveillance after grant (months)"), 1, 24)
    surveillance_interval_months = _months(_l("Surveillance interval (months)"), 1, 24)
    onsite_interval_max_months = _months(_l("Longest gap between on-site assessments (months)"), 1, 24)
    response_due_days = _months(_l("Response to findings due (days)"), 1, 365)
    evidence_due_days = _months(_l("Evidence of corrective action due (days)"), 1, 730)
    grading_scheme = SelectField(_l("Grading scheme for findings"),
                                 choices=[SelectChoice(k, v) for k, v in GRADING_SCHEMES.items()])
    accreditation_number_format = StringField(
        _l("Accreditation number format"), validators=[DataRequired(), Length(max=60)],
        description=_l("Fields: {seq}, {programme}, {programme_seq}, {year}; e.g. {seq:04d} or "
                       "AB-{programme}-{seq:05d}."))
    application_validity_months = _months(_l("Application lapses after (months)"), 1, 60)
    consultancy_lookback_years = IntegerField(_l("Consultancy look-back (years)"),
                                              validators=[NumberRange(0, 10)])
    employment_lookback_years = IntegerField(_l("Employment look-back (years)"),
                                             validators=[NumberRange(0, 10)])
    max_suspension_months = _months(_l("Longest suspension (months)"), 1, 9)
    directory_retention_months = IntegerField(
        _l("Withdrawn bodies stay in the directory for (months)"), validators=[NumberRange(0, 120)])
    objection_window_days = _months(_l("CAB objection window for proposed teams (days)"), 1, 60)
    onsite_monitoring_interval_months = _months(
        _l("Lead assessors' on-site monitoring at least every (months)"), 1, 120)
    witness_code_cycle_years = _months(_l("Each IAF code witnessed at least every (years)"), 1, 10)
    witness_due_soon_days = _months(_l("Witness “due soon” warning (days before)"), 1, 365)


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = StringField(_l("Action"), validators=[Optional(), Length(max=100)])
    actor = StringField(_l("Actor e-mail"), validators=[Optional(), Length(max=320)])
    object_type = StringField(_l("Object type"), validators=[Optional(), Length(max=60)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
