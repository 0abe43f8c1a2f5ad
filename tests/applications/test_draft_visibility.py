"""A draft application is the CAB's own until submitted: its requested lines, and the applicant
accreditation an initial draft opened, stay off the staff pages, and staff cannot change them."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import ScopeItem
from tests.applications.conftest import id_from, line_data, load_application
from tests.auth.helpers import table_row, words
from tests.cabs.helpers import row_names
from tests.factories import CAL_LINE
from tests.scopes.helpers import scope_item_ids

EDIT_DATA = {**CAL_LINE, "quantity": "Changed by staff"}


def requested_line(tenant, application_id: int) -> ScopeItem:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(
            select(ScopeItem).where(ScopeItem.application_id == application_id)).scalar_one()


def accreditation_rows(resp) -> list[str]:
    """The rows of the CAB's accreditations table, as text."""
    body = resp.get_data(as_text=True)
    table = body.split("Accreditations of", 1)[1].split("</tbody>", 1)[0]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
            for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)]


def submit(client, application_id: int) -> None:
    resp = client.post(f"/alpha/portal/applications/{application_id}/submit",
                       data={"declaration": "y"})
    assert resp.status_code == 302


@pytest.fixture
def initial_draft(client, login_as, lab_user, start):
    """The lab's initial calibration draft with one requested line (the CAB user signed in)."""
    login_as(lab_user)
    application_id = start()
    resp = client.post(f"/alpha/portal/applications/{application_id}/lines",
                       data=line_data({**CAL_LINE, "quantity": "Draft gauges"}))
    assert resp.status_code == 302
    return application_id


@pytest.fixture
def extension_draft(client, login_as, lab_user, accredited):
    """A draft extension of the lab's granted accreditation, with one requested line."""
    login_as(lab_user)
    resp = client.post("/alpha/portal/applications/new",
                       data={"type": "extension", "accreditation": str(accredited),
                             "summary": "Vacuum up to 1 mbar"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    application_id = id_from(resp)
    resp = client.post(f"/alpha/portal/applications/{application_id}/lines",
                       data=line_data({**CAL_LINE, "quantity": "Draft gauges"}))
    assert resp.status_code == 302
    return application_id


def test_staff_do_not_see_an_initial_drafts_accreditation_or_line(
    client, login_as, tenant_a, lab, manager, initial_draft
):
    app = load_application(tenant_a, initial_draft)
    login_as(manager)
    tab = client.get(f"/alpha/cabs/{lab.id}/accreditations")
    assert tab.status_code == 200
    assert accreditation_rows(tab) == [
        "No accreditations yet. They are opened when the CAB applies, or below."]
    assert row_names(client.get("/alpha/cabs/?status=applicant")) == []
    assert "17025-C" not in table_row(client.get("/alpha/cabs/"), "Precision Calibration Ltd")
    for suffix in ("", "/history", "/export.csv", "/lines/new", "/edit", "/import"):
        assert client.get(f"/alpha/accreditations/{app.accreditation_id}{suffix}").status_code \
            == 404, suffix


@pytest.mark.parametrize("draft", ["initial_draft", "extension_draft"])
def test_staff_cannot_edit_or_delete_a_drafts_line(
    client, login_as, tenant_a, manager, admin_a, request, draft
):
    application_id = request.getfixturevalue(draft)
    app = load_application(tenant_a, application_id)
    item = requested_line(tenant_a, application_id)
    for editor in (manager, admin_a):
        login_as(editor)
        base = f"/alpha/accreditations/{app.accreditation_id}/lines/{item.id}"
        assert client.get(f"{base}/edit").status_code == 404
        assert client.post(f"{base}/edit", data=EDIT_DATA).status_code == 404
        assert client.post(f"{base}/delete").status_code == 404
    after = requested_line(tenant_a, application_id)  # still there, untouched
    assert (after.id, after.summary) == (item.id, item.summary)


def test_staff_see_the_granted_scope_but_not_an_extension_drafts_line(
    client, login_as, tenant_a, lab, manager, accredited, extension_draft
):
    item = requested_line(tenant_a, extension_draft)
    login_as(manager)
    scope = client.get(f"/alpha/accreditations/{accredited}")
    assert scope.status_code == 200
    assert item.id not in scope_item_ids(scope) and len(scope_item_ids(scope)) == 2
    assert "Draft gauges" not in words(scope)
    assert "Draft gauges" not in client.get(
        f"/alpha/accreditations/{accredited}/export.csv").get_data(as_text=True)
    [row] = accreditation_rows(client.get(f"/alpha/cabs/{lab.id}/accreditations"))
    assert row.endswith("2 accredited")


def test_after_submission_staff_see_the_initial_application_and_its_line(
    client, login_as, tenant_a, lab, lab_user, manager, initial_draft
):
    submit(client, initial_draft)
    app = load_application(tenant_a, initial_draft)
    item = requested_line(tenant_a, initial_draft)
    login_as(manager)
    [row] = accreditation_rows(client.get(f"/alpha/cabs/{lab.id}/accreditations"))
    assert row.startswith("17025-C") and row.endswith("1 applied for")
    assert row_names(client.get("/alpha/cabs/?status=applicant")) == ["Precision Calibration Ltd"]
    assert "17025-C" in table_row(client.get("/alpha/cabs/"), "Precision Calibration Ltd")
    scope = client.get(f"/alpha/accreditations/{app.accreditation_id}")
    assert scope.status_code == 200 and scope_item_ids(scope) == [item.id]
    assert client.get(f"/alpha/accreditations/{app.accreditation_id}/lines/{item.id}/edit"
                      ).status_code == 200


def test_after_submission_staff_see_the_extensions_line(
    client, login_as, tenant_a, lab, lab_user, manager, accredited, extension_draft
):
    submit(client, extension_draft)
    item = requested_line(tenant_a, extension_draft)
    login_as(manager)
    scope = client.get(f"/alpha/accreditations/{accredited}")
    assert item.id in scope_item_ids(scope) and len(scope_item_ids(scope)) == 3
    assert "Draft gauges" in words(scope)
    [row] = accreditation_rows(client.get(f"/alpha/cabs/{lab.id}/accreditations"))
    assert row.endswith("1 applied for 2 accredited")


def test_the_cab_still_sees_its_own_draft_line(client, tenant_a, lab_user, initial_draft):
    app = load_application(tenant_a, initial_draft)
    assert "Draft gauges" in words(client.get(f"/alpha/portal/applications/{initial_draft}"))
    assert "Draft gauges" in words(
        client.get(f"/alpha/portal/accreditations/{app.accreditation_id}"))


def test_no_assessment_or_programme_for_an_accreditation_only_a_draft_opened(
    client, login_as, tenant_a, manager, initial_draft
):
    app = load_application(tenant_a, initial_draft)
    login_as(manager)
    for url in (f"/alpha/assessments/new?accreditation_id={app.accreditation_id}",
                f"/alpha/programme/{app.accreditation_id}",
                f"/alpha/programme/{app.accreditation_id}/coverage",
                f"/alpha/witnesses/accreditation/{app.accreditation_id}",
                f"/alpha/witnesses/new?accreditation_id={app.accreditation_id}"):
        assert client.get(url).status_code == 404, url
    assert "Precision Calibration" not in client.get("/alpha/programme/?show=all").get_data(
        as_text=True)


def test_an_extension_drafts_line_cannot_be_sampled(
    tenant_a, lab, accredited, extension_draft
):
    from datetime import date, timedelta

    from accreditor.assessments import services
    from accreditor.core.errors import ValidationFailed
    from accreditor.scopes.models import Accreditation

    draft_line = requested_line(tenant_a, extension_draft)
    with tenant_scope(tenant_a):
        acc = db.session.execute(
            select(Accreditation).where(Accreditation.id == accredited)).scalar_one()
        start = date.today() + timedelta(days=30)
        a = services.create_assessment(acc, "surveillance", "onsite", start, start, ["A"])
        ids = services.sampleable_ids(a)
        assert len(ids) == 2 and draft_line.id not in ids
        with pytest.raises(ValidationFailed):
            services.set_sample(a, [*ids, draft_line.id])


def test_a_drafts_work_stays_off_the_staff_cab_history_until_submitted(
    client, login_as, tenant_a, lab, lab_user, manager, initial_draft
):
    """Lines, documents and edits of a draft are the CAB's own: the CAB history tab (read by
    every staff role) shows none of them; once submitted, the submission appears."""
    from io import BytesIO

    from accreditor.core.audit import AuditEvent

    resp = client.post(f"/alpha/portal/applications/{initial_draft}/documents",
                       data={"file": (BytesIO(b"%PDF-1.4\n%%EOF\n"), "SecretDraftManual.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    login_as(manager)
    history = client.get(f"/alpha/cabs/{lab.id}/history").get_data(as_text=True)
    assert "SecretDraftManual" not in history and "Draft gauges" not in history
    assert "application.submitted" not in history  # not yet: the last check below can fail
    with tenant_scope(tenant_a):
        kept = db.session.execute(select(AuditEvent.action).where(
            AuditEvent.subject_cab_id.is_(None),
            AuditEvent.object_type.in_(["Document", "ScopeItem", "Application"]))).scalars().all()
    assert "document.uploaded" in kept  # still in the tenant's audit trail
    login_as(lab_user)
    submit(client, initial_draft)
    login_as(manager)
    history = client.get(f"/alpha/cabs/{lab.id}/history").get_data(as_text=True)
    assert "application.submitted" in history


def test_an_extension_drafts_discipline_is_not_offered_for_witnessing(
    client, login_as, tenant_a, manager, accredited, lab_user
):
    """The draft extension asks for TEMP; until it is submitted the witness form offers only
    the accredited disciplines."""
    login_as(lab_user)
    resp = client.post("/alpha/portal/applications/new",
                       data={"type": "extension", "accreditation": str(accredited),
                             "summary": "Temperature"})
    application_id = id_from(resp)
    resp = client.post(f"/alpha/portal/applications/{application_id}/lines",
                       data=line_data({**CAL_LINE, "discipline": "TEMP",
                                       "quantity": "Draft thermometers", "range_unit": "°C",
                                       "cmc_unit": "°C"}))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1500]
    login_as(manager)
    form = client.get(f"/alpha/witnesses/new?accreditation_id={accredited}").get_data(
        as_text=True)
    assert 'value="TEMP"' not in form and 'value="PRES"' in form
