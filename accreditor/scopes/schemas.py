"""Typed scope lines: one field schema per scope type (DOMAIN.md §3, rules 30, 31, 33).

A scope line stores its fields as a JSON object; the schema here is the single place that says
which fields a line of each type has, how they are labelled, and what makes them valid. Forms,
the CSV import/export, the scope tables and the validation all read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from accreditor.refdata.models import CLASSIFICATION_KIND, Classification, ScopeType, TermKind

TEXT, LONGTEXT, CHOICE, MULTI, DECIMAL, UNIT = "text", "longtext", "choice", "multi", "decimal", "unit"

SITE_CODES = {"P": "Permanent laboratory", "O": "On site (customer premises)"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: object
    kind: str = TEXT
    required: bool = True
    terms: TermKind | None = None  # CHOICE/MULTI from a reference list
    help: object = ""
    max_length: int = 500


@dataclass
class Context:
    """What validation needs to know besides the line itself."""

    terms: Callable[[TermKind], dict]  # kind -> {code: RefTerm}
    ms_standards: dict[str, object] = field(default_factory=dict)  # "ISO 9001:2015" -> MsStandard
    location_codes: set[str] = field(default_factory=set)


SCHEMAS: dict[ScopeType, list[FieldSpec]] = {
    ScopeType.testing: [
        FieldSpec("field", _l("Field of testing"), CHOICE, terms=TermKind.testing_field),
        FieldSpec("product", _l("Materials / products tested")),
        FieldSpec("test", _l("Type of test / property measured")),
        FieldSpec("method", _l("Method (standard and edition, or in-house method id)")),
        FieldSpec("range", _l("Range / limits"), required=False),
        FieldSpec("location", _l("Location code"),
                  help=_l("A location code of the CAB, or P (permanent lab) / O (on site).")),
    ],
    ScopeType.calibration: [
        FieldSpec("discipline", _l("Discipline"), CHOICE, terms=TermKind.calibration_discipline),
        FieldSpec("quantity", _l("Measured quantity / instrument")),
        FieldSpec("range_min", _l("Range from"), DECIMAL),
        FieldSpec("range_max", _l("Range to"), DECIMAL),
        FieldSpec("range_unit", _l("Range unit"), UNIT),
        FieldSpec("cmc", _l("CMC (expanded uncertainty, k = 2)"), DECIMAL,
                  help=_l("Greater than zero.")),
        FieldSpec("cmc_unit", _l("CMC unit"), UNIT,
                  help=_l("A unit of the discipline, or %, ppm, % of reading.")),
        FieldSpec("cmc_term", _l("CMC range-dependent term"), required=False,
                  help=_l("Optional, e.g. “+ 0.25L” for a length-dependent CMC.")),
        FieldSpec("remarks", _l("Remarks (method, reference standard)"), required=False),
        FieldSpec("location", _l("Location code")),
    ],
    ScopeType.inspection: [
        FieldSpec("field", _l("Field of inspection"), CHOICE, terms=TermKind.inspection_field),
        FieldSpec("stage", _l("Type / stage of inspection"), MULTI, terms=TermKind.inspection_stage),
        FieldSpec("range", _l("Range (items, equipment, premises)")),
        FieldSpec("method", _l("Method / procedure (with edition)")),
        FieldSpec("location", _l("Location code"), required=False),
    ],
    ScopeType.ms_certification: [
        FieldSpec("standard", _l("Management system standard"), CHOICE),
        FieldSpec("iaf_codes", _l("IAF codes"), MULTI, required=False, terms=TermKind.iaf_code),
        FieldSpec("food_chain", _l("Food-chain categories (ISO/TS 22003-1)"), MULTI,
                  required=False, terms=TermKind.food_chain),
        FieldSpec("md9_areas", _l("MD 9 technical areas"), MULTI, required=False,
                  terms=TermKind.md9_area),
        FieldSpec("nace", _l("NACE restriction"), required=False,
                  help=_l("Optional, e.g. “43.2” to restrict IAF 28 to electrical installation.")),
    ],
    ScopeType.person_certification: [
        FieldSpec("scheme", _l("Certification scheme")),
        FieldSpec("scheme_owner", _l("Scheme owner")),
        FieldSpec("normative_document", _l("Normative document")),
        FieldSpec("levels", _l("Levels / categories"), required=False),
        FieldSpec("exam_sites", _l("Examination sites"), required=False),
    ],
    ScopeType.generic: [
        FieldSpec("activity", _l("Activity / product / scheme")),
        FieldSpec("normative_document", _l("Normative document (with edition)")),
        FieldSpec("details", _l("Details"), LONGTEXT, required=False),
    ],
}

MULTI_SEPARATORS = (";", ",", "|")


def split_multi(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value)
    for sep in MULTI_SEPARATORS[1:]:
        text = text.replace(sep, MULTI_SEPARATORS[0])
    return [p.strip() for p in text.split(MULTI_SEPARATORS[0]) if p.strip()]


def _decimal(raw) -> Decimal | None:
    try:
        value = Decimal(str(raw).strip().replace(" ", ""))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def validate(scope_type: ScopeType, raw: dict, ctx: Context) -> tuple[dict, dict[str, str]]:
    """Clean ``raw`` (form or CSV values) into stored fields; return (fields, errors by field)."""
    specs = SCHEMAS[scope_type]
    clean: dict = {}
    errors: dict[str, str] = {}
    for spec in specs:
        value = raw.get(spec.name)
        if spec.kind == MULTI:
            items = split_multi(value)
            if spec.required and not items:
                errors[spec.name] = str(_l("Choose at least one."))
                continue
            if spec.terms is not None and items:
                known = ctx.terms(spec.terms)
                matched = [_match_term(known, _norm_code(spec.terms, i)) for i in items]
                unknown = [i for i, m in zip(items, matched, strict=True) if m is None]
                if unknown:
                    errors[spec.name] = _unknown_message(spec.terms, unknown)
                    continue
                items = list(dict.fromkeys(matched))  # codes, duplicates dropped, order kept
            clean[spec.name] = items
            continue
        text = "" if value is None else str(value).strip()
        if not text:
            if spec.required:
                errors[spec.name] = str(_l("This field is required."))
            continue
        if len(text) > spec.max_length:
            errors[spec.name] = str(_l("At most %(n)d characters.", n=spec.max_length))
            continue
        if spec.kind == DECIMAL:
            number = _decimal(text)
            if number is None:
                errors[spec.name] = str(_l("Give a number, e.g. 0.25."))
                continue
            clean[spec.name] = str(number)
            continue
        if spec.kind == CHOICE and spec.terms is not None:
            known = ctx.terms(spec.terms)
            code = _match_term(known, text)
            if code is None:
                errors[spec.name] = str(_l("“%(v)s” is not in the list.", v=text))
                continue
            clean[spec.name] = code
            continue
        clean[spec.name] = text
    _CROSS_CHECKS[scope_type](clean, errors, ctx)
    return clean, errors


def _norm_code(kind: TermKind, value: str) -> str:
    value = value.strip()
    if kind == TermKind.iaf_code:
        value = value.upper().removeprefix("IAF").strip().lstrip("0") or "0"
    return value


def _unknown_message(kind: TermKind, unknown: list[str]) -> str:
    if kind == TermKind.iaf_code:
        return str(_l("IAF codes run from 1 to 39; not valid: %(v)s.", v=", ".join(unknown)))
    return str(_l("Not in the list: %(v)s.", v=", ".join(unknown)))


def _match_term(known: dict, text: str) -> str | None:
    if text in known:
        return text
    lowered = text.lower()
    for code, term in known.items():
        if term.name.lower() == lowered or code.lower() == lowered:
            return code
    return None


def _check_location(clean: dict, errors: dict, ctx: Context, *, allow_site_codes: bool) -> None:
    loc = clean.get("location")
    if loc is None:
        return
    allowed = set(ctx.location_codes) | (set(SITE_CODES) if allow_site_codes else set())
    if loc.upper() in {a.upper() for a in allowed}:
        clean["location"] = next(a for a in allowed if a.upper() == loc.upper())
        return
    listed = ", ".join(sorted(allowed)) or str(_l("none defined yet"))
    errors["location"] = str(_l("Unknown location code “%(v)s” (known: %(k)s).", v=loc, k=listed))


def _check_testing(clean, errors, ctx):
    _check_location(clean, errors, ctx, allow_site_codes=True)


def _check_calibration(clean, errors, ctx):
    _check_location(clean, errors, ctx, allow_site_codes=True)
    discipline = ctx.terms(TermKind.calibration_discipline).get(clean.get("discipline", ""))
    units = list((discipline.extra or {}).get("units", [])) if discipline is not None else []
    from accreditor.refdata.seed import RELATIVE_UNITS

    if discipline is not None:
        for name, allowed in (("range_unit", units), ("cmc_unit", units + RELATIVE_UNITS)):
            unit = clean.get(name)
            if unit is not None and unit not in allowed:
                errors[name] = str(_l("“%(u)s” is not a unit of %(d)s (use one of: %(a)s).",
                                      u=unit, d=discipline.name, a=", ".join(allowed)))
    cmc = clean.get("cmc")
    if cmc is not None and Decimal(cmc) <= 0:
        errors["cmc"] = str(_l("The CMC must be greater than zero."))
    lo, hi = clean.get("range_min"), clean.get("range_max")
    if lo is not None and hi is not None and Decimal(lo) > Decimal(hi):
        errors["range_max"] = str(_l("The upper end of the range is below the lower end."))


def _check_inspection(clean, errors, ctx):
    _check_location(clean, errors, ctx, allow_site_codes=True)


def _check_ms(clean, errors, ctx):
    label = clean.get("standard")
    standard = ctx.ms_standards.get(label) if label else None
    if label and standard is None:
        errors["standard"] = str(_l("“%(v)s” is not a management system standard on the list.",
                                    v=label))
        return
    if standard is None:
        return
    classification = Classification(standard.classification)
    wanted = CLASSIFICATION_KIND.get(classification)
    lists = {TermKind.iaf_code: "iaf_codes", TermKind.food_chain: "food_chain",
             TermKind.md9_area: "md9_areas"}
    for kind, name in lists.items():
        if clean.get(name) and kind != wanted:
            errors[name] = str(_l("%(std)s lines do not take these codes.", std=label))
    if classification == Classification.iaf and not clean.get("iaf_codes") \
            and "iaf_codes" not in errors:
        errors["iaf_codes"] = str(_l("%(std)s lines need at least one IAF code.", std=label))
    if classification == Classification.food_chain and not clean.get("food_chain") \
            and "food_chain" not in errors:
        errors["food_chain"] = str(_l("%(std)s lines need at least one food-chain category.",
                                      std=label))
    if classification == Classification.md9 and not clean.get("md9_areas") \
            and "md9_areas" not in errors:
        errors["md9_areas"] = str(_l("%(std)s lines need at least one MD 9 technical area.",
                                     std=label))
    if clean.get("nace") and not clean.get("iaf_codes"):
        errors["nace"] = str(_l("A NACE restriction narrows IAF codes; give IAF codes first."))


_CROSS_CHECKS = {
    ScopeType.testing: _check_testing,
    ScopeType.calibration: _check_calibration,
    ScopeType.inspection: _check_inspection,
    ScopeType.ms_certification: _check_ms,
    ScopeType.person_certification: lambda clean, errors, ctx: None,
    ScopeType.generic: lambda clean, errors, ctx: None,
}


def summary(scope_type: ScopeType, fields: dict, term_names: Callable[[TermKind, str], str]) -> str:
    """One readable line (for tables, search and the directory)."""
    f = fields
    if scope_type == ScopeType.testing:
        parts = [term_names(TermKind.testing_field, f.get("field", "")), f.get("product"),
                 f.get("test"), f.get("method"), f.get("range")]
    elif scope_type == ScopeType.calibration:
        cmc = f"{f.get('cmc')} {f.get('cmc_unit')}" + (f" {f['cmc_term']}" if f.get("cmc_term") else "")
        parts = [term_names(TermKind.calibration_discipline, f.get("discipline", "")),
                 f.get("quantity"),
                 f"{f.get('range_min')} to {f.get('range_max')} {f.get('range_unit')}",
                 f"CMC {cmc}", f.get("remarks")]
    elif scope_type == ScopeType.inspection:
        parts = [term_names(TermKind.inspection_field, f.get("field", "")),
                 ", ".join(term_names(TermKind.inspection_stage, s) for s in f.get("stage", [])),
                 f.get("range"), f.get("method")]
    elif scope_type == ScopeType.ms_certification:
        codes = []
        if f.get("iaf_codes"):
            codes.append("IAF " + ", ".join(f["iaf_codes"]))
        if f.get("food_chain"):
            codes.append("Categories " + ", ".join(f["food_chain"]))
        if f.get("md9_areas"):
            codes.append(", ".join(term_names(TermKind.md9_area, a) for a in f["md9_areas"]))
        if f.get("nace"):
            codes.append(f"NACE {f['nace']}")
        parts = [f.get("standard"), *codes]
    elif scope_type == ScopeType.person_certification:
        parts = [f.get("scheme"), f.get("levels"), f.get("normative_document"),
                 f"owner: {f['scheme_owner']}" if f.get("scheme_owner") else None]
    else:
        parts = [f.get("activity"), f.get("normative_document"), f.get("details")]
    return " · ".join(str(p) for p in parts if p)
