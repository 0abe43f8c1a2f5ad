"""Publishing accreditations to the public directory (filled in by the directory work)."""

from __future__ import annotations


def publish(accreditation, *, decision=None):
    """Write (or refresh) the accreditation's public directory entry from its current state, in
    the caller's transaction; called by ``decisions.services.record_decision``."""
    return None
