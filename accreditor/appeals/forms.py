"""Forms of the appeal pages and the words they show. Forms check shapes only: every rule (the
window, independence, the kind, who may act) is ``services``', whose message is shown beside the
field it names (or above the form)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from accreditor.appeals.models import AppealKind, AppealStatus, Outcome
from accreditor.appeals.services import GROUNDS_MAX
from accreditor.auth.forms import MultiCheckboxField

S = AppealStatus
STATUS_LABELS = {
    S.lodged: _l("Lodged: awaiting acknowledgement"),
    S.acknowledged: _l("Acknowledged: awaiting a handler"),
    S.under_review: _l("Under review"),
    S.decided: _l("Outcome given"),
    S.review_requested: _l("Panel review requested"),
    S.panel_review: _l("Under panel review"),
    S.closed: _l("Closed"),
    S.withdrawn: _l("Withdrawn"),
}
STATUS_BADGES = {
    S.lodged: "warning", S.acknowledged: "info", S.under_review: "primary",
    S.decided: "success", S.review_requested: "warning", S.panel_review: "primary",
    S.closed: "secondary", S.withdrawn: "light",
}
KIND_LABELS = {AppealKind.appeal: _l("Appeal"), AppealKind.challenge: _l("Challenge")}
# The outcome in words about the subject (a decision or a nonconformity).
OUTCOME_LABELS = {
    Outcome.upheld: _l("Upheld: it stands (the appeal is dismissed)"),
    Outcome.overturned: _l("Overturned: it does not stand"),
    Outcome.partly_upheld: _l("Partly upheld"),
}
REASON_MAX = 5_000


def appeal_labels() -> dict:
    return {"status_labels": {s.value: v for s, v in STATUS_LABELS.items()},
            "status_badges": {s.value: v for s, v in STATUS_BADGES.items()},
            "kind_labels": {k.value: v for k, v in KIND_LABELS.items()},
            "outcome_labels": {o.value: v for o, v in OUTCOME_LABELS.items()}}


def _outcome_choices():
    return [SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()]


class LodgeForm(FlaskForm):
    grounds = TextAreaField(
        _l("Grounds"), validators=[DataRequired(), Length(max=GROUNDS_MAX)],
        description=_l("Why the decision or nonconformity is wrong, and what you ask for. At "
                       "most 20,000 characters."))
    files = MultipleFileField(_l("Supporting documents (optional)"))


class ActionForm(FlaskForm):
    """A button: acknowledge, close."""


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=REASON_MAX)])


class HandlerForm(FlaskForm):
    handler_id = SelectField(_l("Handler"), choices=[], validate_choice=False,
                             validators=[DataRequired()],
                             description=_l("Only people not involved in the assessment or "
                                            "the appealed decision are offered (rule 23)."))


class OutcomeForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=_outcome_choices(), validate_choice=False,
                         validators=[Optional()])
    reasons = TextAreaField(_l("Reasons"), validators=[DataRequired(),
                                                        Length(max=GROUNDS_MAX)])


class PanelForm(FlaskForm):
    chair_id = SelectField(_l("Chair"), choices=[], validate_choice=False,
                           validators=[DataRequired()])
    member_ids = MultiCheckboxField(_l("Members (two)"), choices=[], validate_choice=False)
