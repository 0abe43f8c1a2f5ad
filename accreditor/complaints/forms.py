"""Forms of the complaint pages. They bound every field (the message sits beside the field and
nothing is saved); the rules (which CAB may be named, dates, who may act, rule 25) are the
services', whose refusals are shown beside the field they name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from accreditor.complaints.models import (
    EMAIL_MAX,
    NAME_MAX,
    OUTCOME_MAX,
    PHONE_MAX,
    TEXT_MAX,
    Channel,
    ComplaintStatus,
    ComplaintSubject,
    Outcome,
)

S = ComplaintStatus
STATUS_LABELS = {
    S.received: _l("Received"),
    S.acknowledged: _l("Acknowledged"),
    S.referred: _l("Referred to the CAB"),
    S.investigating: _l("Under investigation"),
    S.decision_proposed: _l("Decision proposed"),
    S.decision_approved: _l("Decision approved"),
    S.closed: _l("Closed"),
    S.rejected: _l("Rejected as invalid"),
    S.withdrawn: _l("Withdrawn"),
}
STATUS_BADGES = {
    S.received: "warning", S.acknowledged: "info", S.referred: "primary",
    S.investigating: "primary", S.decision_proposed: "secondary",
    S.decision_approved: "secondary", S.closed: "success", S.rejected: "dark",
    S.withdrawn: "light",
}
OUTCOME_LABELS = {Outcome.upheld: _l("Upheld"), Outcome.partly_upheld: _l("Partly upheld"),
                  Outcome.not_upheld: _l("Not upheld")}
CHANNEL_LABELS = {Channel.web: _l("Public form"), Channel.email: _l("E-mail"),
                  Channel.letter: _l("Letter"), Channel.phone: _l("Telephone"),
                  Channel.in_person: _l("In person")}
SUBJECT_LABELS = {ComplaintSubject.cab: _l("An accredited body (a CAB)"),
                  ComplaintSubject.ab: _l("Us, the accreditation body")}
STEP_LABELS = {**{s.value: label for s, label in STATUS_LABELS.items()},
               "cab_responded": _l("The CAB answered")}


def labels() -> dict:
    return {"status_labels": STATUS_LABELS, "status_badges": STATUS_BADGES,
            "outcome_labels": OUTCOME_LABELS, "channel_labels": CHANNEL_LABELS,
            "subject_labels": SUBJECT_LABELS, "step_labels": STEP_LABELS}


def _too_long(limit: int):
    return Length(max=limit, message=_l("Keep this under %(max)d characters.", max=limit))


class ComplaintForm(FlaskForm):
    """The public form. ``website`` is the honeypot: hidden from people (CSS and aria-hidden);
    a bot that fills it is answered as if accepted, and nothing is stored."""

    subject = RadioField(_l("Your complaint is about"), default=ComplaintSubject.cab.value,
                         choices=[SelectChoice(s.value, label) for s, label in SUBJECT_LABELS.items()],
                         validators=[InputRequired(_l("Choose what the complaint is about."))])
    cab_id = SelectField(_l("Accredited body"), choices=[], validate_choice=False,
                         description=_l("Bodies we accredit (or have suspended), by legal name "
                                        "and accreditation number."))
    complainant_name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Give your name.")), _too_long(NAME_MAX)])
    complainant_email = EmailField(_l("Your e-mail address"), validators=[
        DataRequired(_l("Give an e-mail address we can answer.")),
        Email(_l("Give a valid e-mail address.")), _too_long(EMAIL_MAX)])
    complainant_phone = StringField(_l("Telephone (optional)"), validators=[
        Optional(), _too_long(PHONE_MAX)])
    complainant_organisation = StringField(_l("Organisation (optional)"), validators=[
        Optional(), _too_long(NAME_MAX)])
    what_happened = TextAreaField(_l("What happened"), validators=[
        DataRequired(_l("Tell us what happened.")), _too_long(TEXT_MAX)],
        description=_l("Up to 20,000 characters."))
    event_on = DateField(_l("When did it happen?"), validators=[
        InputRequired(_l("Give the date of the event (an estimate will do)."))])
    desired_outcome = TextAreaField(_l("What outcome do you want? (optional)"), validators=[
        Optional(), _too_long(OUTCOME_MAX)])
    consent_to_share = BooleanField(
        _l("You may share my name and contact details with the body I complain about"),
        description=_l("Without this, we share only the substance of the complaint."))
    website = StringField(_l("Leave this field empty"))  # honeypot


class RegisterForm(ComplaintForm):
    """Staff register a complaint received by letter, e-mail, telephone or in person."""

    channel = SelectField(_l("Received by"), choices=[
        SelectChoice(c.value, label) for c, label in CHANNEL_LABELS.items() if c != Channel.web])
    received_on = DateField(_l("Received on"), validators=[
        InputRequired(_l("Give the date it was received."))])
    complainant_email = EmailField(_l("Complainant's e-mail address (optional)"), validators=[
        Optional(), Email(_l("Give a valid e-mail address.")), _too_long(EMAIL_MAX)],
        description=_l("Without one, notices are not e-mailed: write to the complainant."))
    complainant_name = StringField(_l("Complainant's name"), validators=[
        DataRequired(_l("Give the complainant's name.")), _too_long(NAME_MAX)])
    consent_to_share = BooleanField(
        _l("The complainant agrees to share their identity with the CAB"))
    website = None


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Text"), validators=[
        DataRequired(_l("Write something.")), _too_long(TEXT_MAX)])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[_too_long(TEXT_MAX)])


class WithdrawForm(FlaskForm):
    note = TextAreaField(_l("How the complainant withdrew it"), validators=[_too_long(TEXT_MAX)])


class AcknowledgeForm(FlaskForm):
    note = TextAreaField(_l("Note (internal, optional)"), validators=[_too_long(TEXT_MAX)])


class InvestigateForm(FlaskForm):
    investigator_id = SelectField(_l("Investigator"), choices=[], validate_choice=False)
    skip_referral_reason = TextAreaField(
        _l("Reason for not referring it to the CAB first"), validators=[_too_long(TEXT_MAX)],
        description=_l("Only for a complaint about a CAB that was not referred to it (rule 25)."))


class DecisionForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=[SelectChoice(o.value, label)
                                                 for o, label in OUTCOME_LABELS.items()],
                         validate_choice=False)
    decision_text = TextAreaField(_l("Decision and reasons"), validators=[_too_long(TEXT_MAX)],
                                  description=_l("The complainant reads this in the close "
                                                 "notice."))
    actions = TextAreaField(_l("Actions (optional)"), validators=[_too_long(TEXT_MAX)])


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class CabResponseForm(FlaskForm):
    text = TextAreaField(_l("Your answer"), validators=[
        DataRequired(_l("Write your answer.")), _too_long(TEXT_MAX)],
        description=_l("How you addressed the complaint, and what you did about it."))


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=[SelectChoice("", _l("Any"))] + [
        SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()],
        validators=[Optional()])
    cab_id = SelectField(_l("CAB"), choices=[], validate_choice=False, validators=[Optional()])
    overdue = BooleanField(_l("Overdue only"))
