"""Allowed values of the tenant policy (DOMAIN.md ⚙ settings), shared by the form and the service.

Each integer field has one range and one message naming the reason, so the page and
:func:`accreditor.tenants.services.update_policy` refuse the same values with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class PolicyRange:
    lo: int
    hi: int
    message: object  # a lazy string: translated when shown

    def contains(self, value: int) -> bool:
        return self.lo <= value <= self.hi


_ONSITE_24 = _l("Give 1 to 24 months: on-site assessments are never more than 24 months apart "
                "(ISO/IEC 17011 7.9.3).")

POLICY_RANGES: dict[str, PolicyRange] = {
    # Cycle and programme (rules 7, 9)
    "cycle_length_months": PolicyRange(12, 60, _l(
        "Give 12 to 60 months: an accreditation cycle is at most 5 years (ISO/IEC 17011 7.9.1).")),
    "first_surveillance_months": PolicyRange(1, 24, _ONSITE_24),
    "surveillance_interval_months": PolicyRange(1, 24, _ONSITE_24),
    "onsite_interval_max_months": PolicyRange(1, 24, _l(
        "Give 1 to 24 months: the longest gap between on-site assessments can never exceed 24 "
        "months (ISO/IEC 17011 7.9.3).")),
    # Findings (rule 14)
    "response_due_days": PolicyRange(1, 365, _l("Give 1 to 365 days.")),
    "evidence_due_days": PolicyRange(1, 730, _l("Give 1 to 730 days.")),
    "finding_escalation_grace_days": PolicyRange(0, 180, _l("Give 0 to 180 days.")),
    # Applications (rule 38)
    "application_validity_months": PolicyRange(1, 60, _l("Give 1 to 60 months.")),
    # Impartiality (rule 3)
    "consultancy_lookback_years": PolicyRange(0, 10, _l("Give 0 to 10 years.")),
    "employment_lookback_years": PolicyRange(0, 10, _l("Give 0 to 10 years.")),
    # Decisions (17011 7.7)
    "decision_committee_size": PolicyRange(1, 7, _l(
        "Give 1 (one decision maker) to 7 (members of a decision committee).")),
    # Sanctions (rule 18), directory (rule 27)
    "max_suspension_months": PolicyRange(1, 9, _l(
        "Give 1 to 9 months: a suspension lasts at most 9 months.")),
    "directory_retention_months": PolicyRange(0, 120, _l("Give 0 to 120 months.")),
    "max_suspension_extended_months": PolicyRange(1, 9, _l(
        "Give 1 to 9 months: even extended with justification, a suspension lasts at most 9 "
        "months.")),
    "resignation_notice_days": PolicyRange(0, 365, _l("Give 0 to 365 days.")),
    "inactive_max_months": PolicyRange(1, 24, _l("Give 1 to 24 months.")),
    # Appeals (rules 23, 24)
    "appeal_window_months": PolicyRange(1, 12, _l("Give 1 to 12 months.")),
    "appeal_ack_working_days": PolicyRange(1, 20, _l("Give 1 to 20 working days.")),
    "appeal_outcome_working_days": PolicyRange(1, 90, _l("Give 1 to 90 working days.")),
    "appeal_second_stage_months": PolicyRange(1, 12, _l("Give 1 to 12 months.")),
    # Complaints (rule 25)
    "complaint_ack_working_days": PolicyRange(1, 30, _l("Give 1 to 30 working days.")),
    "complaint_cab_response_days": PolicyRange(1, 365, _l("Give 1 to 365 days.")),
    "complaint_resolution_days": PolicyRange(1, 365, _l("Give 1 to 365 days.")),
    # Assessments (rules 4, 37, 34)
    "objection_window_days": PolicyRange(1, 60, _l("Give 1 to 60 days.")),
    "onsite_monitoring_interval_months": PolicyRange(1, 120, _l("Give 1 to 120 months.")),
    "witness_code_cycle_years": PolicyRange(1, 10, _l(
        "Give 1 to 10 years: every code is witnessed at least every 10 years (IAF MD 17).")),
    "witness_due_soon_days": PolicyRange(1, 365, _l("Give 1 to 365 days.")),
}

# How the settings page groups the fields (every policy field appears exactly once).
POLICY_SECTIONS: list[tuple[object, tuple[str, ...]]] = [
    (_l("Accreditation cycle and programme"),
     ("cycle_length_months", "first_surveillance_months", "surveillance_interval_months",
      "onsite_interval_max_months")),
    (_l("Findings"), ("grading_scheme", "response_due_days", "evidence_due_days",
                      "finding_reminder_days", "finding_escalation_grace_days")),
    (_l("Accreditation numbers"), ("accreditation_number_format",)),
    (_l("Applications"), ("application_validity_months",)),
    (_l("Impartiality"), ("consultancy_lookback_years", "employment_lookback_years")),
    (_l("Decisions, sanctions and directory"),
     ("decision_committee_size", "light_surveillance_decisions", "max_suspension_months",
      "max_suspension_extended_months", "resignation_notice_days", "inactive_max_months",
      "directory_retention_months")),
    (_l("Appeals"), ("appeal_window_months", "appeal_ack_working_days",
                     "appeal_outcome_working_days", "appeal_second_stage_months",
                     "nc_appealable")),
    (_l("Complaints"), ("complaint_ack_working_days", "complaint_cab_response_days",
                        "complaint_resolution_days")),
    (_l("Assessments, teams and witnesses"),
     ("objection_window_days", "onsite_monitoring_interval_months", "witness_code_cycle_years",
      "witness_due_soon_days")),
]


def parse_reminder_days(text: str) -> list[int] | None:
    """"7, 1" → [7, 1] (distinct, largest first); None when not a list of 1 to 5 whole numbers
    from 1 to 90."""
    try:
        days = sorted({int(p) for p in str(text or "").replace(";", ",").split(",") if p.strip()},
                      reverse=True)
    except ValueError:
        return None
    if not 1 <= len(days) <= 5 or not all(1 <= d <= 90 for d in days):
        return None
    return days
