"""Certificates and schedules of accreditation (filled in by the certificates work)."""

from __future__ import annotations


def issue_documents(version) -> None:
    """Called in the transaction that creates a ``ScheduleVersion``: snapshot what the PDFs
    show and queue their rendering (after commit)."""
    return None


def current_document(accreditation_id: int, kind: str):
    """The rendered PDF (``kind`` "schedule" or "certificate") of the accreditation's latest
    schedule issue, or None while it renders or when none exists."""
    return None
