"""Forms and labels for application pages (staff side; the portal reuses the labels)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from accreditor.applications.models import ApplicationStatus, ApplicationType
from accreditor.documents.filetypes import KINDS

TYPE_LABELS = {
    ApplicationType.initial: _l("Initial accreditation"),
    ApplicationType.extension: _l("Extension of scope"),
    ApplicationType.reduction: _l("Reduction of scope"),
    ApplicationType.reaccreditation: _l("Reaccreditation"),
    ApplicationType.voluntary_suspension: _l("Voluntary suspension"),
    ApplicationType.voluntary_withdrawal: _l("Voluntary withdrawal"),
    ApplicationType.change_of_details: _l("Change of details"),
}

STATUS_LABELS = {
    ApplicationStatus.draft: _l("Draft"),
    ApplicationStatus.submitted: _l("Submitted"),
    ApplicationStatus.info_requested: _l("Information requested"),
    ApplicationStatus.accepted: _l("Accepted"),
    ApplicationStatus.refused: _l("Refused"),
    ApplicationStatus.lapsed: _l("Lapsed"),
    ApplicationStatus.withdrawn: _l("Withdrawn"),
}

# Bootstrap badge colours per status (templates).
STATUS_BADGES = {
    ApplicationStatus.draft: "secondary",
    ApplicationStatus.submitted: "primary",
    ApplicationStatus.info_requested: "warning",
    ApplicationStatus.accepted: "success",
    ApplicationStatus.refused: "danger",
    ApplicationStatus.lapsed: "dark",
    ApplicationStatus.withdrawn: "light",
}

MESSAGE_MAX = 5000


def label_context() -> dict:
    """What application templates need to name types, statuses and document types."""
    return {"type_labels": {k.value: v for k, v in TYPE_LABELS.items()},
            "status_labels": {k.value: v for k, v in STATUS_LABELS.items()},
            "status_badges": {k.value: v for k, v in STATUS_BADGES.items()},
            "document_type_labels": {k.media_type: k.label for k in KINDS.values()}}


class ApplicationFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()], choices=[
        SelectChoice("", _l("Any status")),
        *(SelectChoice(k.value, v) for k, v in STATUS_LABELS.items())])
    type = SelectField(_l("Type"), validators=[Optional()], choices=[
        SelectChoice("", _l("Any type")),
        *(SelectChoice(k.value, v) for k, v in TYPE_LABELS.items())])
    programme = SelectField(_l("Programme"), validators=[Optional()], choices=[])


class RequestInfoForm(FlaskForm):
    question = TextAreaField(_l("What information is needed?"),
                            validators=[DataRequired(message=_l("Say what information is needed.")),
                                        Length(max=MESSAGE_MAX)],
                            description=_l("The CAB sees this question on its application page "
                                           "and by e-mail."))


class AcceptForm(FlaskForm):
    note = TextAreaField(_l("Note to the CAB (optional)"),
                            validators=[Optional(), Length(max=MESSAGE_MAX)])


class RefuseForm(FlaskForm):
    reason = TextAreaField(_l("Reasons for refusing"),
                           validators=[DataRequired(message=_l("Give the reasons for refusing.")),
                                       Length(max=MESSAGE_MAX)],
                           description=_l("The CAB sees these reasons; a refusal can be appealed."))
