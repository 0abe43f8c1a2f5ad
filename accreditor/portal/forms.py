"""Forms of the CAB portal: starting, editing, submitting and answering an application.

Requested scope lines use the staff scope-line form (``accreditor.scopes.forms.line_form``),
built from the same schema the service validates with."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from accreditor.applications.forms import MESSAGE_MAX, TYPE_LABELS
from accreditor.auth.forms import MultiCheckboxField


class NewApplicationForm(FlaskForm):
    type = SelectField(_l("Type of application"),
                       choices=[SelectChoice(k.value, v) for k, v in TYPE_LABELS.items()])
    programme = SelectField(_l("Programme (initial applications)"), choices=[],
                            validators=[Optional()], validate_choice=False,
                            description=_l("The standard you apply to be accredited against."))
    accreditation = SelectField(_l("Accreditation (all other types)"), choices=[],
                                validators=[Optional()], validate_choice=False,
                                description=_l("The current accreditation this application "
                                               "extends, reduces, suspends, withdraws or changes."))
    summary = TextAreaField(_l("What you are asking for"),
                            validators=[Optional(), Length(max=MESSAGE_MAX)])
    location_codes = MultiCheckboxField(_l("Locations covered"), choices=[],
                                        validate_choice=False)


class EditApplicationForm(FlaskForm):
    summary = TextAreaField(_l("What you are asking for"),
                            validators=[Optional(), Length(max=MESSAGE_MAX)])
    location_codes = MultiCheckboxField(_l("Locations covered"), choices=[],
                                        validate_choice=False)
    target_item_ids = MultiCheckboxField(_l("Scope lines concerned"), choices=[], coerce=int,
                                         validate_choice=False)


class SubmitForm(FlaskForm):
    declaration = BooleanField(_l(
        "We declare that the information in this application is correct and complete, and we "
        "agree to meet the accreditation requirements and the terms of the accreditation body."))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Your answer"),
                           validators=[DataRequired(message=_l("Write your answer.")),
                                       Length(max=MESSAGE_MAX)])


class ActionForm(FlaskForm):
    """A button that only carries the CSRF token (withdraw, remove a line)."""


class DocumentForm(FlaskForm):
    """Attach a file to an application. The size limit and the accepted types are checked on
    the content by the document store (``documents.services.store_upload``); the view puts
    both, from the configuration, in the field's description."""

    file = FileField(_l("Document"),
                     validators=[FileRequired(message=_l("Choose a file to upload."))])
