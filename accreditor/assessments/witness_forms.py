"""Forms and labels of the witness pages. The forms check shapes only; every rule is the
service's (``witness.py``), whose messages are shown beside the fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from accreditor.assessments.md17 import DueStatus, code_key
from accreditor.assessments.models import WitnessActivity
from accreditor.assessments.witness import ScopeAreas
from accreditor.refdata.models import ScopeType, TermKind

ACTIVITY_LABELS = {
    WitnessActivity.ms_audit: _l("CB audit of a client (MS)"),
    WitnessActivity.inspection: _l("Inspection"),
    WitnessActivity.examination: _l("Examination of candidates"),
    WitnessActivity.test: _l("Test"),
    WitnessActivity.calibration: _l("Calibration"),
}
AUDIT_TYPE_LABELS = {
    "initial_stage1": _l("Initial certification, stage 1"),
    "initial_stage2": _l("Initial certification, stage 2"),
    "surveillance": _l("Surveillance"),
    "recertification": _l("Recertification"),
    "special": _l("Special / short-notice"),
}
EXTENT_LABELS = {"full": _l("Full"), "partial": _l("Partial")}
WITNESS_MODE_LABELS = {"onsite": _l("On-site"), "remote": _l("Remote")}
OUTCOME_LABELS = {
    "satisfactory": _l("Satisfactory"),
    "findings": _l("Satisfactory, findings raised against the CAB"),
    "unsatisfactory": _l("Unsatisfactory: competence not confirmed, witness again"),
}
DUE_LABELS = {DueStatus.ok: _l("OK"), DueStatus.due_soon: _l("Due soon"),
              DueStatus.overdue: _l("Overdue"), DueStatus.never: _l("Never witnessed")}
DUE_BADGES = {DueStatus.ok: "success", DueStatus.due_soon: "warning",
              DueStatus.overdue: "danger", DueStatus.never: "danger"}
# What the "standard" and "category" fields mean for each scope type.
STANDARD_LABELS = {
    ScopeType.ms_certification: _l("Management system standard"),
    ScopeType.person_certification: _l("Certification scheme"),
    ScopeType.generic: _l("Activity / scheme of the scope"),
    ScopeType.testing: _l("Method or standard observed (optional)"),
    ScopeType.calibration: _l("Method or procedure observed (optional)"),
    ScopeType.inspection: _l("Method or procedure observed (optional)"),
}
CATEGORY_LABELS = {
    ScopeType.ms_certification: _l("Food-chain category / MD 9 area"),
    ScopeType.person_certification: _l("Level / category (optional)"),
    ScopeType.generic: _l("Category (optional)"),
    ScopeType.testing: _l("Field of testing"),
    ScopeType.calibration: _l("Discipline"),
    ScopeType.inspection: _l("Field of inspection"),
}


def _choices(labels: dict, blank=None) -> list[SelectChoice]:
    out = [SelectChoice("", blank)] if blank is not None else []
    return out + [SelectChoice(str(k), v) for k, v in labels.items()]


def witness_form(areas: ScopeAreas, activities, assessments, **kwargs):
    """The witness form for one accreditation: its fields and choices follow the programme's
    scope type and the live scope (standards and codes, fields, schemes)."""
    st = areas.scope_type
    ms = st == ScopeType.ms_certification

    class WitnessForm(FlaskForm):
        activity = SelectField(_l("Activity witnessed"), validate_choice=False,
                               choices=_choices({a: ACTIVITY_LABELS[a] for a in activities}))
        assessment_id = SelectField(
            _l("Assessment"), validate_choice=False,
            description=_l("A witness assessment of this accreditation (MS CBs), or the on-site "
                           "assessment during which the activity was witnessed."))
        witnessed_on = DateField(_l("Date"), validators=[InputRequired()])
        place = StringField(_l("Place"),
                            description=_l("Where the activity took place: client site, "
                                           "laboratory or exam centre; for a remote witness, "
                                           "e.g. “Remote — video link to the client's site”."))
        cab_personnel = TextAreaField(
            _l("CAB personnel observed"),
            description=_l("Auditors, inspectors, examiners or analysts observed (rule 35)."))
        extent = SelectField(_l("Extent"), validate_choice=False,
                             choices=_choices(EXTENT_LABELS))
        mode = SelectField(_l("Mode"), validate_choice=False,
                           choices=_choices(WITNESS_MODE_LABELS))
        outcome = SelectField(_l("Outcome"), validate_choice=False,
                              choices=_choices(OUTCOME_LABELS))
        notes = TextAreaField(_l("Notes"), validators=[Optional()],
                              description=_l("Findings are raised against the CAB, never "
                                             "against its client (rule 35)."))

    if ms:
        WitnessForm.client_name = StringField(_l("Client of the CB"))
        WitnessForm.audit_type = SelectField(_l("Audit type"), validate_choice=False,
                                             choices=_choices(AUDIT_TYPE_LABELS, "—"))
    else:
        WitnessForm.client_name = StringField(_l("Client / item (optional)"),
                                              validators=[Optional()])
    if ms or st in (ScopeType.person_certification, ScopeType.generic):
        std_choices = list(areas.standards) if ms else areas.schemes
        WitnessForm.standard = SelectField(STANDARD_LABELS[st], validate_choice=False,
                                           choices=_choices({s: s for s in std_choices}, "—"))
    else:
        WitnessForm.standard = StringField(STANDARD_LABELS[st], validators=[Optional()])
    if ms:
        iaf = sorted({c for a in areas.standards.values()
                      for c in a.codes.get(TermKind.iaf_code, {})}, key=code_key)
        names = areas.terms.get(TermKind.iaf_code, {})
        WitnessForm.iaf_code = SelectField(
            _l("IAF code"), validate_choice=False,
            choices=_choices({c: f"{c} – {names[c].name}" if c in names else c for c in iaf},
                             "—"),
            description=_l("A code of the standard's scope lines."))
        other = {}
        for kind in (TermKind.food_chain, TermKind.md9_area):
            terms = areas.terms.get(kind, {})
            for a in areas.standards.values():
                for c in a.codes.get(kind, {}):
                    other[c] = f"{c} – {terms[c].name}" if c in terms else c
        if other:
            WitnessForm.category = SelectField(CATEGORY_LABELS[st], validate_choice=False,
                                               choices=_choices(dict(sorted(other.items())), "—"))
    elif st in (ScopeType.testing, ScopeType.calibration, ScopeType.inspection):
        WitnessForm.category = SelectField(
            CATEGORY_LABELS[st], validate_choice=False,
            choices=_choices(dict(sorted(areas.categories.items(),
                                         key=lambda kv: kv[1].lower())), "—"))
    else:
        WitnessForm.category = StringField(CATEGORY_LABELS[st], validators=[Optional()])
    form = WitnessForm(**kwargs)
    form.assessment_id.choices = [SelectChoice("", _l("— none —"))] + [
        SelectChoice(str(a.id), f"#{a.id} · {a.type.replace('_', ' ')} · "
                                f"{a.planned_start_on.isoformat()}") for a in assessments]
    return form


class WitnessFilterForm(FlaskForm):
    class Meta:
        csrf = False

    FILTERS = ("cab_id", "activity", "date_from", "date_to")

    cab_id = SelectField(_l("CAB"), choices=[], validators=[Optional()])
    activity = SelectField(_l("Activity"), choices=_choices(ACTIVITY_LABELS, _l("Any activity")),
                           validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
