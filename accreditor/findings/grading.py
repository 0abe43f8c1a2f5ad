"""Grading schemes: the words an AB uses for its findings, each mapped to a canonical severity
and to behaviour (DOMAIN.md §2.8).

A tenant picks a preset (``TenantPolicy.grading_scheme``); its grades are copied into the
tenant's ``finding_grades`` rows, which the AB may then adjust (days, closure rule). A finding
copies its grade's label, severity and behaviour when it is recorded, so changing the scheme or a
grade never rewrites an existing finding. Days left empty on a grade mean the tenant's default
(``TenantPolicy.response_due_days`` / ``evidence_due_days``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    critical = "critical"  # proposes an immediate suspension (rule 16)
    major = "major"
    minor = "minor"
    observation = "observation"  # an observation / opportunity for improvement: no response

    @property
    def rank(self) -> int:
        return SEVERITY_ORDER.index(self)


SEVERITY_ORDER = [Severity.critical, Severity.major, Severity.minor, Severity.observation]
# Severities whose response must state correction, cause analysis and corrective action (rule 15).
FULL_RESPONSE = frozenset({Severity.critical, Severity.major})
# Severities that are nonconformities: they need a response and block a grant while open.
NONCONFORMITY = frozenset({Severity.critical, Severity.major, Severity.minor})


@dataclass(frozen=True)
class GradePreset:
    key: str
    label: str
    severity: Severity
    description: str
    # Closure needs accepted implementation evidence (False: an accepted plan suffices).
    closure_requires_evidence: bool = True
    # With an accepted plan the finding may be verified on site at the next visit.
    verify_at_next_visit: bool = False
    # Overrides of the tenant's default deadlines (None: the tenant's default).
    response_due_days: int | None = None
    evidence_due_days: int | None = None

    @property
    def proposes_suspension(self) -> bool:
        return self.severity == Severity.critical


def _observation(key: str, label: str, description: str) -> GradePreset:
    return GradePreset(key, label, Severity.observation, description,
                       closure_requires_evidence=False)


PRESETS: dict[str, tuple[str, list[GradePreset]]] = {
    "anab": ("ANAB-style: major / minor / observation", [
        GradePreset("major", "Major nonconformity", Severity.major,
                    "Absence of, or failure to implement, a requirement that raises significant "
                    "doubt on the credibility of certificates; several minors showing a "
                    "breakdown; or a minor not addressed effectively."),
        GradePreset("minor", "Minor nonconformity", Severity.minor,
                    "A lapse that is not a breakdown and raises no significant doubt.",
                    closure_requires_evidence=False, verify_at_next_visit=True),
        _observation("observation", "Observation",
                     "A remark or opportunity for improvement; no response required."),
    ]),
    "ilac_g20": ("ILAC G20: categories 1-4", [
        GradePreset("cat1", "Category 1", Severity.critical,
                    "Very serious: the affected scope is suspended immediately, effective the "
                    "assessment date, pending decision.", response_due_days=7,
                    evidence_due_days=30),
        GradePreset("cat2", "Category 2", Severity.major,
                    "A nonconformity that affects the validity of results."),
        GradePreset("cat3", "Category 3", Severity.minor,
                    "A less serious nonconformity.", closure_requires_evidence=False,
                    verify_at_next_visit=True),
        _observation("cat4", "Category 4 – Observation",
                     "An observation; no response required."),
    ]),
    "nata": ("NATA: condition (C) / minor condition (M) / observation", [
        GradePreset("condition", "Condition (C)", Severity.major,
                    "A major condition: evidence is needed before closure."),
        GradePreset("minor_condition", "Minor condition (M)", Severity.minor,
                    "Followed up at the next visit; a repeated minor condition becomes major.",
                    closure_requires_evidence=False, verify_at_next_visit=True),
        _observation("observation", "Observation", "No response required."),
    ]),
    "ukas": ("UKAS: improvement action / recommendation", [
        GradePreset("improvement_action", "Improvement action", Severity.major,
                    "Must be cleared with evidence before a grant or extension."),
        _observation("recommendation", "Recommendation",
                     "A recommendation; no response required."),
    ]),
}

GRADING_SCHEMES = {key: label for key, (label, _grades) in PRESETS.items()}
