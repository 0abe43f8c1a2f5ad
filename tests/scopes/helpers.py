"""Readers for the scope tests: the database as it is after a request, and page fragments."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation, ScopeItem
from tests.auth.helpers import field_error, flashes, form_error, text, words  # noqa: F401

TEST_LINE = {"field": "CHEMICAL", "product": "Soils", "test": "Lead by ICP-OES",
             "method": "In-house method WTM-017", "range": "5 to 5000 mg/kg", "location": "A"}


def page(acc_id: int, suffix: str = "", slug: str = "alpha") -> str:
    return f"/{slug}/accreditations/{acc_id}{suffix}"


def load(tenant, acc_id: int) -> Accreditation:
    """The accreditation as stored now, with what the services read loaded (call inside
    ``tenant_scope(tenant)``)."""
    db.session.expire_all()
    return db.session.execute(
        select(Accreditation).where(Accreditation.id == acc_id)
        .options(selectinload(Accreditation.programme), selectinload(Accreditation.cab),
                 selectinload(Accreditation.edition))
    ).scalar_one()


def lines(tenant, acc_id: int) -> list[ScopeItem]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(
            select(ScopeItem).where(ScopeItem.accreditation_id == acc_id)
            .order_by(ScopeItem.position, ScopeItem.id)
        ).scalars())


def line_count(tenant, acc_id: int) -> int:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(
            select(func.count()).select_from(ScopeItem)
            .where(ScopeItem.accreditation_id == acc_id)
        ).scalar_one()


def table_rows(resp, testid: str) -> list[list[str]]:
    """The body rows of the table marked ``data-testid=testid``, as lists of cell texts."""
    body = resp.get_data(as_text=True)
    m = re.search(rf'<table[^>]*data-testid="{testid}".*?<tbody>(.*?)</tbody>', body, re.S)
    assert m, f"no table {testid!r}"
    return [[_clean(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S)]


def scope_rows(resp) -> list[list[str]]:
    """Rows of the scope table (position first, status last-but-actions)."""
    body = resp.get_data(as_text=True)
    m = re.search(r'<table class="table table-sm scope-table">.*?<tbody>(.*?)</tbody>', body, re.S)
    assert m, "no scope table"
    return [[_clean(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr data-item-id[^>]*>(.*?)</tr>", m.group(1), re.S)]


def scope_item_ids(resp) -> list[int]:
    body = resp.get_data(as_text=True)
    return [int(i) for i in re.findall(r'<tr data-item-id="(\d+)"', body)]


def scope_headings(resp) -> list[str]:
    body = resp.get_data(as_text=True)
    m = re.search(r'<table class="table table-sm scope-table">.*?<thead>(.*?)</thead>', body, re.S)
    assert m, "no scope table"
    return [_clean(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", m.group(1), re.S)]


def _clean(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())
