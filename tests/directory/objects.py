"""Objects of this area in a tenant, for the every-route isolation walk (tests/core/test_tenancy.py)."""

from __future__ import annotations


def tenant_objects(tenant, cab, acc, assessment, assessor, marker: str, ids: dict) -> dict:
    """Build one object of every kind this area's routes take, in ``tenant`` (names carry
    ``marker``); return their ids by URL argument name.

    A published directory entry (with a line and a history event) under a number of its own:
    under another tenant's slug, ``/<slug>/directory/<number>`` and its PDFs must be 404s."""
    from datetime import date

    from accreditor.core.db import commit
    from accreditor.core.tenancy import tenant_scope
    from accreditor.directory.models import DirectoryEntry, DirectoryEvent, DirectoryLine
    from accreditor.extensions import db

    number = f"{marker}-DIR.01".replace(" ", "-")
    with tenant_scope(tenant):
        entry = DirectoryEntry(
            cab_id=cab.id, accreditation_id=acc.id, number=number,
            legal_name=f"{marker} published CAB", trading_names=[marker], country="GB",
            locations=[{"code": "A", "name": f"{marker} lab", "address": "1 Road",
                        "country": "GB", "kind": "permanent"}],
            contacts=[{"name": f"{marker} public contact", "position": None, "email": None,
                       "phone": None}],
            programme_code="17025-C", programme_name="Calibration laboratories",
            scope_type="calibration", standard="ISO/IEC 17025", edition="2017",
            status="accredited", status_since=date(2024, 1, 1), initial_grant_on=date(2024, 1, 1),
            schedule_issue_no=1, schedule_issued_on=date(2024, 1, 1), search_text=marker,
            digest="-", lines_digest="-", lines_total=1)
        db.session.add(entry)
        db.session.flush()
        db.session.add_all([
            DirectoryLine(entry_id=entry.id, position=1, status="accredited",
                          summary=f"{marker} public line", fields={}),
            DirectoryEvent(entry_id=entry.id, occurred_on=date(2024, 1, 1), from_status=None,
                           to_status="accredited")])
        commit()
    return {"number": number}
