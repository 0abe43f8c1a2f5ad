"""Forms for the staff finding pages. They check shapes only: every rule (grades, clauses, the
lines and locations that may be cited, reasons, who may act) is the service's, whose message is
shown beside the field it names."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from accreditor.assessments.forms import ROLE_LABELS, IdListField
from accreditor.auth.forms import MultiCheckboxField
from accreditor.findings.grading import Severity
from accreditor.findings.models import (
    ClosureBasis,
    FindingStatus,
    ProposalKind,
    ProposalSource,
    ProposalStatus,
    ResponseOutcome,
    ResponseType,
)

STATUS_LABELS = {
    FindingStatus.draft: _l("Draft: awaiting confirmation"),
    FindingStatus.recorded: _l("Recorded (not issued)"),
    FindingStatus.open: _l("Open"),
    FindingStatus.responded: _l("Answered: awaiting review"),
    FindingStatus.plan_accepted: _l("Plan accepted: evidence awaited"),
    FindingStatus.closed: _l("Closed"),
    FindingStatus.withdrawn: _l("Withdrawn"),
}
STATUS_BADGES = {
    FindingStatus.draft: "warning",
    FindingStatus.recorded: "secondary",
    FindingStatus.open: "danger",
    FindingStatus.responded: "info",
    FindingStatus.plan_accepted: "primary",
    FindingStatus.closed: "success",
    FindingStatus.withdrawn: "light",
}
SEVERITY_LABELS = {Severity.critical: _l("critical"), Severity.major: _l("major"),
                   Severity.minor: _l("minor"), Severity.observation: _l("observation")}
SEVERITY_BADGES = {Severity.critical: "danger", Severity.major: "warning",
                   Severity.minor: "info", Severity.observation: "light"}
RESPONSE_TYPE_LABELS = {
    ResponseType.conformity: _l("Evidence of conformity (type 1)"),
    ResponseType.actions_completed: _l("Corrective actions completed (type 2)"),
    ResponseType.plan_only: _l("Plan only (type 3)"),
}
OUTCOME_LABELS = {ResponseOutcome.accepted: _l("Accepted"),
                  ResponseOutcome.rejected: _l("Rejected")}
CLOSURE_LABELS = {
    ClosureBasis.evidence_accepted: _l("Evidence accepted"),
    ClosureBasis.plan_accepted: _l("Plan accepted (verify at the next visit)"),
    ClosureBasis.no_response_required: _l("No response required"),
}
PROPOSAL_KIND_LABELS = {ProposalKind.suspension: _l("Suspension of the affected scope"),
                        ProposalKind.refusal: _l("Refusal / lapse of the application"),
                        ProposalKind.withdrawal: _l("Withdrawal of the accreditation")}
PROPOSAL_SOURCE_LABELS = {ProposalSource.critical_finding: _l("Critical finding (rule 16)"),
                          ProposalSource.overdue_finding: _l("Overdue finding (rule 17)"),
                          ProposalSource.inactive_cap: _l("Inactive too long (rule 22)"),
                          ProposalSource.transition_deadline: _l(
                              "Transition deadline missed (rule 29)"),
                          ProposalSource.suspension_max: _l(
                              "Suspension reached its maximum (rule 18)")}
PROPOSAL_STATUS_LABELS = {ProposalStatus.proposed: _l("Proposed"),
                          ProposalStatus.dismissed: _l("Dismissed"),
                          ProposalStatus.decided: _l("Taken to a decision")}


def finding_labels() -> dict:
    """The label dictionaries the finding pages (and the assessment's findings tab) read."""
    return {"finding_status_labels": STATUS_LABELS, "finding_status_badges": STATUS_BADGES,
            "severity_labels": SEVERITY_LABELS, "severity_badges": SEVERITY_BADGES,
            "response_type_labels": RESPONSE_TYPE_LABELS, "outcome_labels": OUTCOME_LABELS,
            "closure_labels": CLOSURE_LABELS, "proposal_kind_labels": PROPOSAL_KIND_LABELS,
            "proposal_source_labels": PROPOSAL_SOURCE_LABELS,
            "proposal_status_labels": PROPOSAL_STATUS_LABELS, "team_role_labels": ROLE_LABELS}


class FindingForm(FlaskForm):
    """Raising or editing a finding. Choices are filled by the view; the service checks the
    grade, the requirement, the lines and the locations (choices are not validated here, so
    its message, not WTForms', is shown)."""

    grade_id = SelectField(_l("Grade"), choices=[], validate_choice=False)
    standard = SelectField(_l("Requirement from"), choices=[], validate_choice=False)
    other_document = StringField(
        _l("Other document"),
        description=_l("Only for another document: e.g. \"IAF MD 5:2019\" or the AB's own "
                       "rules."))
    clause = StringField(_l("Clause"), description=_l("Pick a clause of the standard, or type "
                                                       "the clause of the other document."))
    statement = TextAreaField(_l("Statement of the nonconformity"),
                              description=_l("The requirement that is not met."))
    objective_evidence = TextAreaField(_l("Objective evidence"),
                                       description=_l("What was seen: records, items, people."))
    item_ids = IdListField(_l("Affected scope lines"), default=list)
    location_codes = MultiCheckboxField(_l("Locations"), choices=[], validate_choice=False)


class ReasonForm(FlaskForm):
    """Withdrawing a finding: the reason is required by the service."""

    reason = TextAreaField(_l("Reason"))


class ReviewForm(FlaskForm):
    """Accept or reject the latest answer; a rejection needs the note (the CAB sees it)."""

    # Set by the button pressed ("accept" or "reject"); not a hidden input, which would be sent
    # as well and read first.
    outcome = StringField()
    note = TextAreaField(_l("Review note"),
                         description=_l("The CAB reads this note, whether you accept or reject; "
                                        "required to reject (the CAB then answers again)."))


class HandOverForm(FlaskForm):
    follow_up_id = SelectField(_l("Follow-up assessment"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Why it is followed up later"))


class DueDatesForm(FlaskForm):
    response_due_on = DateField(_l("Response due"), validators=[Optional()])
    evidence_due_on = DateField(_l("Evidence due"), validators=[Optional()])
    reason = TextAreaField(_l("Reason (agreed with the CAB)"))


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class FindingActionForm(FlaskForm):
    """A button on the assessment's Findings tab about one of the findings listed."""

    finding_id = HiddenField()


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]

