"""Published accreditations built straight from the scope services and the models (schedule
issues and decisions with chosen dates), so retention and history can be set in the past."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, insert, select
from sqlalchemy.orm import joinedload

from accreditor.cabs import services as cab_services
from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import Decision, ScheduleVersion
from accreditor.directory import services
from accreditor.directory.models import DirectoryEntry
from accreditor.extensions import db
from accreditor.scopes import services as scopes
from accreditor.scopes.models import Accreditation, ScopeItem
from tests.factories import CAL_LINE, create_accreditation, create_cab

TODAY = date.today()
GRANTED = TODAY - timedelta(days=400)


def page(client, url: str, status: int = 200) -> str:
    """GET a public page, assert its status, return its text."""
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code)
    return resp.get_data(as_text=True)


def load_acc(acc_id: int) -> Accreditation:
    return db.session.execute(select(Accreditation).where(Accreditation.id == acc_id)
                              .options(joinedload(Accreditation.programme))).scalar_one()


def entry_of(tenant, acc_id: int) -> DirectoryEntry | None:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(select(DirectoryEntry).where(
            DirectoryEntry.accreditation_id == acc_id)).scalar_one_or_none()


def issue(acc: Accreditation, on: date, decision: Decision | None = None) -> ScheduleVersion:
    """The next schedule issue, dated ``on`` (in the caller's tenant scope)."""
    last = db.session.execute(select(func.max(ScheduleVersion.issue_no)).where(
        ScheduleVersion.accreditation_id == acc.id)).scalar_one() or 0
    version = ScheduleVersion(cab_id=acc.cab_id, accreditation_id=acc.id, issue_no=last + 1,
                              issued_on=on, status=acc.status, lines=[],
                              decision_id=decision.id if decision is not None else None)
    db.session.add(version)
    db.session.flush()
    return version


def decision(acc: Accreditation, kind: str, on: date, **kw) -> Decision:
    d = Decision(cab_id=acc.cab_id, accreditation_id=acc.id, kind=kind, effective_on=on,
                 rationale="SECRET-RATIONALE of the decision maker", **kw)
    db.session.add(d)
    db.session.flush()
    return d


def accredited(tenant, *, legal_name: str = "Precision Metrology Ltd", lines: int = 3,
               granted_on: date = GRANTED, publish: bool = True) -> Accreditation:
    """A granted calibration accreditation (schedule issue 1 on the grant date), a public and
    a private contact, published unless ``publish`` is false."""
    cab = create_cab(tenant, legal_name, trading_names=["PML Calibration"],
                     locations=(("A", "Head office"), ("B", "Annex")))
    with tenant_scope(tenant):
        cab_services.add_contact(cab, name="Pat Public", position="Quality manager",
                                 email="pat@pml.example.org", is_public=True)
        cab_services.add_contact(cab, name="Ivy Internal", email="ivy@pml.example.org",
                                 is_public=False)
        commit()
    acc = create_accreditation(tenant, cab, "17025-C", lines=[
        {**CAL_LINE, "quantity": f"Pressure gauges type {i}"} for i in range(1, lines + 1)])
    with tenant_scope(tenant):
        acc = load_acc(acc.id)
        scopes.grant(acc, effective_on=granted_on, propose=False)
        issue(acc, granted_on)
        if publish:
            services.publish(acc)
        commit()
    return acc


def item_ids(tenant, acc_id: int) -> list[int]:
    with tenant_scope(tenant):
        return list(db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == acc_id).order_by(ScopeItem.position)).scalars())


def suspend(tenant, acc_id: int, ids: list[int] | None, on: date = TODAY,
            type_: str = "imposed") -> None:
    """A suspension decision (partial when ``ids`` names lines), issued and published."""
    with tenant_scope(tenant):
        acc = load_acc(acc_id)
        extent = "partial" if ids else "full"
        ids = ids or list(db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == acc_id, ScopeItem.status == "accredited")).scalars())
        d = decision(acc, "suspend", on, suspension_type=type_, extent=extent,
                     max_end_on=on + timedelta(days=90))
        scopes.suspend(acc, item_ids=ids, effective_on=on, decision_id=d.id)
        issue(acc, on, d)
        services.publish(acc, decision=d)
        commit()


def withdraw(tenant, acc_id: int, on: date, *, voluntary: bool = False) -> None:
    with tenant_scope(tenant):
        acc = load_acc(acc_id)
        d = decision(acc, "withdraw", on)
        scopes.withdraw(acc, effective_on=on, voluntary=voluntary, decision_id=d.id)
        issue(acc, on, d)
        services.publish(acc, decision=d)
        commit()


def months_ago(n: int) -> date:
    return TODAY - relativedelta(months=n)


def big(tenant, n: int, *, legal_name: str = "Numerous Calibration Ltd",
        number: str | None = None) -> Accreditation:
    """An accredited calibration accreditation with ``n`` lines, inserted in bulk (the scope
    services validate line by line, which is not what these tests measure)."""
    cab = create_cab(tenant, legal_name)
    acc = create_accreditation(tenant, cab, "17025-C")
    with tenant_scope(tenant):
        acc = load_acc(acc.id)
        fields = {**CAL_LINE}
        db.session.execute(insert(ScopeItem), [
            {"tenant_id": tenant.id, "cab_id": cab.id, "accreditation_id": acc.id,
             "position": i, "status": "accredited", "fields": {**fields, "quantity": f"Gauge {i}"},
             "summary": f"Pressure – Gauge {i} – 0 to 700 bar – CMC 0.025 %"}
            for i in range(1, n + 1)])
        acc.status = "accredited"
        acc.number = number or f"{acc.id:04d}.01"
        acc.initial_grant_on = acc.cycle_start_on = GRANTED
        acc.cycle_end_on = GRANTED + relativedelta(years=5)
        db.session.flush()
        issue(acc, GRANTED)
        commit()
    return acc


@pytest.fixture
def published(tenant_a):
    return accredited(tenant_a)


@pytest.fixture(autouse=True)
def _pdfs(render_pdfs):
    """The PDFs of each schedule issue are part of what these tests look at."""
