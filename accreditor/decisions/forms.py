"""The form for recording a decision, and the labels the decision pages read. The form checks
shapes only: which kind needs what, who may decide, which assessments and lines may be cited are
``services.record_decision``'s rules, whose message is shown beside the field it names."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from accreditor.assessments.forms import IdListField
from accreditor.auth.forms import MultiCheckboxField
from accreditor.decisions.models import DecisionKind, Extent, SuspensionType

K = DecisionKind
KIND_LABELS = {
    K.grant: _l("Grant (initial accreditation)"),
    K.extend: _l("Extend the scope"),
    K.maintain: _l("Maintain"),
    K.reduce: _l("Reduce the scope"),
    K.suspend: _l("Suspend"),
    K.reinstate: _l("Reinstate (lift the suspension)"),
    K.withdraw: _l("Withdraw"),
    K.refuse: _l("Refuse"),
    K.follow_up: _l("Follow-up assessment required"),
    K.extend_suspension: _l("Extend the suspension (up to its extended maximum)"),
    K.inactive: _l("Inactive status (at the CAB's request)"),
    K.reactivate: _l("Reactivate (end the inactive status)"),
}
# Kinds taken only on a CAB's request (its page): not offered on the decision form.
REQUEST_ONLY = frozenset({K.inactive})
KIND_BADGES = {
    K.grant: "success", K.extend: "success", K.maintain: "primary", K.reinstate: "success",
    K.reduce: "warning", K.suspend: "danger", K.withdraw: "danger", K.refuse: "danger",
    K.follow_up: "info", K.extend_suspension: "danger", K.inactive: "secondary",
    K.reactivate: "success",
}
SUSPENSION_TYPE_LABELS = {
    SuspensionType.imposed: _l("Imposed (nonconformity or a specific issue)"),
    SuspensionType.voluntary: _l("Voluntary (asked for by the CAB)"),
    SuspensionType.financial: _l("Financial (fees not paid)"),
}
EXTENT_LABELS = {Extent.full: _l("Full: the whole scope"),
                 Extent.partial: _l("Partial: named lines or locations")}


def decision_labels() -> dict:
    """The label dictionaries the decision pages (and the accreditation pages) read."""
    return {"kind_labels": KIND_LABELS, "kind_badges": KIND_BADGES,
            "request_kind_labels": REQUEST_KIND_LABELS,
            "request_status_labels": REQUEST_STATUS_LABELS,
            "suspension_type_labels": SUSPENSION_TYPE_LABELS, "extent_labels": EXTENT_LABELS}


def _choices(labels: dict, *, blank=None) -> list[SelectChoice]:
    out = [SelectChoice("", blank)] if blank is not None else []
    return out + [SelectChoice(k.value, label) for k, label in labels.items()]


class DecisionForm(FlaskForm):
    """Recording a decision. Checkbox lists (makers, assessments, lines) are filled and rendered
    by the view; their values go to the service unchecked, so its message is the one shown."""

    kind = SelectField(_l("Decision"), choices=_choices(
        {k: v for k, v in KIND_LABELS.items() if k not in REQUEST_ONLY}), validate_choice=False)
    effective_on = DateField(_l("Takes effect on"), validators=[Optional()], default=date.today)
    rationale = TextAreaField(
        _l("Rationale"),
        description=_l("What the decision rests on: the report, the findings and their status, "
                       "the team's recommendation. The CAB reads it."))
    maker_ids = IdListField(_l("Decision makers"), default=list)
    input_ids = IdListField(_l("Assessments cited"), default=list)
    item_ids = IdListField(_l("Scope lines acted on"), default=list)
    suspension_type = SelectField(_l("Type of suspension (for suspensions)"),
                                  choices=_choices(SUSPENSION_TYPE_LABELS, blank=_l("—")),
                                  validate_choice=False)
    extent = SelectField(_l("Extent (for suspensions)"),
                         choices=_choices(EXTENT_LABELS, blank=_l("—")), validate_choice=False)
    location_codes = MultiCheckboxField(
        _l("Locations suspended (for partial suspensions: the lines performed there)"),
        choices=[], validate_choice=False)
    suspension_id = SelectField(
        _l("Suspension extended or lifted (extensions and reinstatements)"), choices=[],
        validate_choice=False,
        description=_l("A reinstatement lifts the lines still suspended under it (those named "
                       "above, or all of them)."))
    max_end_on = DateField(
        _l("New maximum end (extensions, rule 18)"), validators=[Optional()],
        description=_l("At most the suspension's start plus the extended maximum; the "
                       "rationale is the justification."))


class RequestForm(FlaskForm):
    """The CAB's written request (the portal). Lines: checkboxes rendered by the view."""

    reason = TextAreaField(_l("Reason"), description=_l("Your written request: why you ask."))
    extent = SelectField(_l("Extent"), choices=_choices(
        {Extent.full: _l("Full: the whole accreditation"),
         Extent.partial: _l("Partial: the lines ticked below")}), validate_choice=False)
    effective_on = DateField(_l("Takes effect on"), validators=[Optional()])
    item_ids = IdListField(_l("Lines withdrawn from (partial)"), default=list)
    client_protection = TextAreaField(
        _l("Arrangements to protect your certified clients (IAF MD 2)"),
        description=_l("Certification bodies: how your certified clients are informed and "
                       "their certificates transferred or ended. A file may be attached."))
    upload = FileField(_l("Arrangements file (optional)"))


class ProtectionForm(FlaskForm):
    client_protection = TextAreaField(
        _l("Arrangements to protect your certified clients (IAF MD 2)"))
    upload = FileField(_l("Arrangements file (optional)"))


class AnswerRequestForm(FlaskForm):
    """Accepting or approving a CAB's request: the decision makers and the rationale."""

    maker_ids = IdListField(_l("Decision makers"), default=list)
    rationale = TextAreaField(_l("Rationale"), description=_l("The CAB reads it."))


class DeclineForm(FlaskForm):
    answer = TextAreaField(_l("Reason for declining"), description=_l("The CAB reads it."))


class PlainForm(FlaskForm):
    """A button (CSRF only)."""


REQUEST_KIND_LABELS = {"resignation": _l("Voluntary withdrawal (resignation)"),
                       "inactive": _l("Inactive status"),
                       "reactivation": _l("Reactivation")}
REQUEST_STATUS_LABELS = {"submitted": _l("Submitted: awaits the AB"),
                         "accepted": _l("Accepted: takes effect on its date"),
                         "carried_out": _l("Carried out"), "declined": _l("Declined"),
                         "withdrawn": _l("Withdrawn by the CAB"),
                         "lapsed": _l("Lapsed (the accreditation ended otherwise)")}
