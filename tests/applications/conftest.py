"""People and CABs for the application tests: a calibration lab with its CAB user, a second CAB
with its own user, AB staff of every role, and a second tenant."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from accreditor.applications.models import Application
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.refdata.services import programme_by_code
from tests.factories import create_cab, create_cab_user, create_member


@pytest.fixture
def lab(tenant_a):
    return create_cab(tenant_a, "Precision Calibration Ltd", locations=(("A", "Main lab"),
                                                                      ("B", "Mobile unit")))


@pytest.fixture
def lab_user(tenant_a, lab):
    return create_cab_user(tenant_a, lab, "quality@precision.example.org", name="Quinn Quality")


@pytest.fixture
def other_cab(tenant_a):
    return create_cab(tenant_a, "Other Testing House")


@pytest.fixture
def other_cab_user(tenant_a, other_cab):
    return create_cab_user(tenant_a, other_cab, "boss@other.example.org", name="Olga Other")


@pytest.fixture
def manager(tenant_a):
    return create_member(tenant_a, "manager@alpha.example.org", [Role.manager], name="Mia Manager")


@pytest.fixture
def assessor(tenant_a):
    return create_member(tenant_a, "assessor@alpha.example.org", [Role.assessor],
                         name="Ash Assessor")


@pytest.fixture
def programme_id(tenant_a):
    with tenant_scope(tenant_a):
        return programme_by_code("17025-C").id


def line_data(raw: dict) -> dict:
    """A scope line as the portal's add-line form posts it (the scope-line form's field names)."""
    return dict(raw)


def id_from(resp) -> int:
    m = re.search(r"/applications/(\d+)", resp.headers["Location"])
    assert m, resp.headers["Location"]
    return int(m.group(1))


def load_application(tenant, application_id: int) -> Application:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(
            select(Application).where(Application.id == application_id)).scalar_one()


@pytest.fixture
def start(client, programme_id):
    """``start(summary=…)``: the signed-in CAB user starts an initial calibration application."""

    def _start(summary: str = "Pressure calibration up to 700 bar", **extra) -> int:
        data = {"type": "initial", "programme": str(programme_id), "summary": summary,
                "location_codes": ["A"], **extra}
        resp = client.post("/alpha/portal/applications/new", data=data)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
        return id_from(resp)

    return _start


def history_statuses(resp) -> list[str]:
    """The statuses of the history list, oldest first, as the page shows them."""
    import html as html_lib

    body = resp.get_data(as_text=True)
    entries = body.split('data-testid="history-entry"')[1:]
    return [html_lib.unescape(re.search(r"<strong>(.*?)</strong>", e, re.S).group(1).strip())
            for e in entries]


def status_shown(resp) -> str:
    m = re.search(r'data-testid="status">(.*?)</span>', resp.get_data(as_text=True), re.S)
    assert m, "no status badge on the page"
    return m.group(1).strip()


def number_shown(resp) -> str:
    m = re.search(r'data-testid="accreditation-number">(.*?)</dd>', resp.get_data(as_text=True),
                  re.S)
    assert m, "no accreditation number on the page"
    return m.group(1).strip()


@pytest.fixture
def accredited(tenant_a, lab):
    """The lab's calibration accreditation, granted today with two lines; returns its id."""
    from datetime import date

    from sqlalchemy.orm import selectinload

    from accreditor.core.db import commit
    from accreditor.scopes import services as scopes
    from accreditor.scopes.models import Accreditation
    from tests.factories import CAL_LINE, create_accreditation

    acc = create_accreditation(tenant_a, lab, "17025-C",
                               lines=[CAL_LINE, {**CAL_LINE, "quantity": "Vacuum gauges"}])
    with tenant_scope(tenant_a):
        acc = db.session.execute(
            select(Accreditation).where(Accreditation.id == acc.id)
            .options(selectinload(Accreditation.programme))).scalar_one()
        scopes.grant(acc, effective_on=date.today())
        commit()
    return acc.id
