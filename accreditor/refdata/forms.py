from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from accreditor.refdata.models import ScopeType


class TermForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    group = StringField(_l("Group / cluster"), validators=[Optional(), Length(max=120)])
    is_critical = BooleanField(_l("Critical"))
    units = StringField(_l("Units (calibration disciplines; separate with ;)"),
                        validators=[Optional(), Length(max=300)])


class GroupingForm(FlaskForm):
    group = StringField(_l("Cluster"), validators=[Optional(), Length(max=120)])
    is_critical = BooleanField(_l("Critical code"))


class ProgrammeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)],
                       description=_l("e.g. 15189, 17065, 17034, 17043"))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)],
                       description=_l("e.g. Medical laboratories"))
    standard = StringField(_l("Standard"), validators=[DataRequired(), Length(max=60)],
                           description=_l("e.g. ISO 15189"))
    edition = StringField(_l("Current edition"), validators=[DataRequired(), Length(max=20)],
                          description=_l("e.g. 2022"))
    scope_type = SelectField(_l("Scope structure"), choices=[
        SelectChoice(ScopeType.testing.value, _l("Testing (product / test / method)")),
        SelectChoice(ScopeType.calibration.value, _l("Calibration (quantity / range / CMC)")),
        SelectChoice(ScopeType.inspection.value, _l("Inspection (field / stage / range / method)")),
        SelectChoice(ScopeType.ms_certification.value, _l("Management system certification")),
        SelectChoice(ScopeType.person_certification.value, _l("Person certification (schemes)")),
        SelectChoice(ScopeType.generic.value, _l("Other (activity / normative document)")),
    ])
    number_code = StringField(_l("Code in accreditation numbers"),
                              validators=[DataRequired(), Length(max=10)],
                              description=_l("Used for {programme} in the number format, e.g. MED"))
    needs_ib_type = BooleanField(_l("Needs an inspection body type (A/B/C)"))
