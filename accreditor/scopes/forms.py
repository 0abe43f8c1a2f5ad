"""Forms for the staff accreditation pages.

The scope-line form is not written by hand: :func:`line_form_class` builds one FlaskForm
subclass per scope type from ``schemas.SCHEMAS``, so the form, the CSV columns and the
validation never disagree. The form itself validates nothing: every value goes to the service
(``schemas.validate``), whose messages are shown beside the fields.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    Field,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from accreditor.auth.forms import MultiCheckboxField
from accreditor.refdata.models import ScopeType
from accreditor.scopes import schemas
from accreditor.scopes.models import IbType

IB_TYPE_LABELS = {
    IbType.A: _l("Type A – independent third-party inspection body"),
    IbType.B: _l("Type B – inspects only for the organisation it is part of"),
    IbType.C: _l("Type C – other activities too, with safeguards"),
}

# Scope types whose lines may say "P" (permanent laboratory) or "O" (on site) instead of a
# location code of the CAB (the schemas allow it for these three).
SITE_CODE_TYPES = frozenset({ScopeType.testing, ScopeType.calibration, ScopeType.inspection})


class AccreditationForm(FlaskForm):
    ib_type = SelectField(
        _l("Inspection body type (ISO/IEC 17020)"),
        choices=[SelectChoice("", _l("— not recorded yet —"))]
        + [SelectChoice(t.value, label) for t, label in IB_TYPE_LABELS.items()],
        description=_l("Required before the grant (ILAC P15)."),
    )
    edition_id = SelectField(_l("Standard edition"), coerce=int, choices=[])
    cycle_start_on = DateField(_l("Cycle start"), validators=[Optional()],
                               description=_l("Set by the grant or reassessment decision."))
    cycle_end_on = DateField(_l("Cycle end"), validators=[Optional()],
                             description=_l("At most five years after the start "
                                            "(ISO/IEC 17011 7.9.1)."))
    expiry_on = DateField(_l("Expiry date"), validators=[Optional()],
                          description=_l("Optional; if given, not after the cycle end."))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"),
                     description=_l("UTF-8 CSV with a header row; at most 5 MB."))
    csv_text = TextAreaField(_l("… or paste the CSV here"), render_kw={"rows": 6})
    confirm = HiddenField()


class AsOfForm(FlaskForm):
    class Meta:
        csrf = False  # a GET query, nothing changes

    on = DateField(_l("Date"), validators=[InputRequired(_l("Give a date (YYYY-MM-DD)."))])


# -- scope lines --------------------------------------------------------------------------------


class _Text:
    """Joins lazy strings at render time (a help text plus "Optional.")."""

    def __init__(self, *parts) -> None:
        self.parts = [p for p in parts if p]

    def __str__(self) -> str:
        return " ".join(str(p) for p in self.parts)

    def __bool__(self) -> bool:
        return bool(self.parts)


def _field(spec: schemas.FieldSpec) -> Field:
    description = _Text(spec.help, None if spec.required else _l("Optional."))
    render_kw = {"aria-required": "true"} if spec.required else {}
    common = {"description": description, "render_kw": render_kw}
    if spec.name == "location" or spec.kind in (schemas.CHOICE, schemas.UNIT):
        # The service checks the value and names what is allowed; a select never refuses it
        # with WTForms' bare "Not a valid choice."
        return SelectField(spec.label, choices=[], validate_choice=False, **common)
    if spec.kind == schemas.MULTI:
        return MultiCheckboxField(spec.label, choices=[], validate_choice=False, **common)
    if spec.kind == schemas.LONGTEXT:
        return TextAreaField(spec.label, render_kw={**render_kw, "rows": 3},
                             description=description)
    if spec.kind == schemas.DECIMAL:
        return StringField(spec.label, render_kw={**render_kw, "inputmode": "decimal"},
                           description=description)
    return StringField(spec.label, **common)


@functools.cache
def line_form_class(scope_type: ScopeType) -> type[FlaskForm]:
    """The FlaskForm subclass for lines of ``scope_type`` (choices are filled per request)."""
    attrs: dict[str, Field] = {}
    for spec in schemas.SCHEMAS[scope_type]:
        if hasattr(FlaskForm, spec.name):
            raise RuntimeError(f"scope field {spec.name!r} clashes with a FlaskForm attribute")
        attrs[spec.name] = _field(spec)
    return type(f"{scope_type.name.title().replace('_', '')}LineForm", (FlaskForm,), attrs)


@dataclass
class LineChoices:
    """Reference data a line form needs, read once per request."""

    terms: object  # schemas.Context.terms: kind -> {code: RefTerm}
    ms_standards: list  # MsStandard rows
    locations: list[tuple[str, str]]  # (code, name) of the CAB's active locations


def _blank() -> SelectChoice:
    return SelectChoice("", _l("— choose —"))


def _unit_choices(terms, *, relative: bool) -> list[SelectChoice]:
    from accreditor.refdata.models import TermKind
    from accreditor.refdata.seed import RELATIVE_UNITS

    out = [_blank()]
    for term in terms(TermKind.calibration_discipline).values():
        out += [SelectChoice(u, u, optgroup=term.name) for u in (term.extra or {}).get("units", [])]
    if relative:
        out += [SelectChoice(u, u, optgroup=str(_l("Relative"))) for u in RELATIVE_UNITS]
    return out


def _choices_for(scope_type: ScopeType, spec: schemas.FieldSpec,
                 ref: LineChoices) -> list[SelectChoice] | None:
    if spec.name == "location":
        out = [SelectChoice("", _l("— none —") if not spec.required else _l("— choose —"))]
        out += [SelectChoice(code, f"{code} – {name}") for code, name in ref.locations]
        if scope_type in SITE_CODE_TYPES:
            out += [SelectChoice(code, f"{code} – {label}")
                    for code, label in schemas.SITE_CODES.items()]
        return out
    if spec.kind == schemas.UNIT:
        return _unit_choices(ref.terms, relative=spec.name == "cmc_unit")
    if spec.kind in (schemas.CHOICE, schemas.MULTI) and spec.terms is not None:
        terms = [SelectChoice(code, term.label) for code, term in ref.terms(spec.terms).items()]
        return terms if spec.kind == schemas.MULTI else [_blank(), *terms]
    if spec.kind == schemas.CHOICE and spec.name == "standard":
        return [_blank()] + [SelectChoice(s.label, f"{s.label} – {s.title}")
                             for s in ref.ms_standards]
    return None


def _keep_current(choices: list[SelectChoice], values: Iterable[str]) -> list[SelectChoice]:
    """A stored value no longer on the list (a closed location, a retired code) stays visible."""
    known = {c.value for c in choices}
    extra = [SelectChoice(v, v) for v in values if v and v not in known]
    return choices + extra


def line_form(scope_type: ScopeType, ref: LineChoices, *, data: dict | None = None) -> FlaskForm:
    """An instance of the line form with its choices; ``data`` pre-fills it (a GET)."""
    form = line_form_class(scope_type)(data=data)
    for spec in schemas.SCHEMAS[scope_type]:
        choices = _choices_for(scope_type, spec, ref)
        if choices is None:
            continue
        field = form[spec.name]
        current = field.data if isinstance(field.data, list) else [field.data]
        field.choices = _keep_current(choices, [str(v) for v in current if v is not None])
    return form


def raw_values(scope_type: ScopeType, form: FlaskForm) -> dict:
    """What the user entered, by schema field name, for ``services.add_scope_item`` and co."""
    return {spec.name: form[spec.name].data for spec in schemas.SCHEMAS[scope_type]}
