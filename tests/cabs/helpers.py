"""Builders for the CAB workspace tests."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes import services as scope_services
from accreditor.scopes.models import Accreditation
from tests.factories import CAL_LINE, create_accreditation


def granted(tenant, cab, *, withdraw: bool = False):
    """A 17025-C accreditation with one line, granted (and then withdrawn when asked)."""
    acc = create_accreditation(tenant, cab, "17025-C", lines=[CAL_LINE])
    with tenant_scope(tenant):
        acc = db.session.execute(
            select(Accreditation).where(Accreditation.id == acc.id)
            .options(joinedload(Accreditation.programme))
        ).scalar_one()
        scope_services.grant(acc, effective_on=date(2025, 1, 15))
        if withdraw:
            scope_services.withdraw(acc, effective_on=date(2025, 6, 1), voluntary=True)
        commit()
    return acc


def row_names(resp) -> list[str]:
    """The legal names linked from the CAB list's rows, in order."""
    body = resp.get_data(as_text=True)
    tbody = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<a href="/[a-z-]+/cabs/\d+">([^<]+)</a>', tbody)
