"""Findings (nonconformities) raised in assessments, the CAB's responses with evidence, their
review and closure, deadlines and escalation (DOMAIN.md §2.8, §2.9; rules 6, 13–17)."""
