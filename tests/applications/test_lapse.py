"""Rule 38: an application without a grant decision lapses when its validity runs out."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from accreditor.applications.jobs import lapse_overdue_applications
from accreditor.applications.models import ApplicationEvent
from accreditor.core.audit import AuditEvent
from accreditor.core.tenancy import ALL_TENANTS, tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation, ScopeItem
from tests.applications.conftest import history_statuses, line_data, load_application, status_shown
from tests.factories import CAL_LINE


def _submit(client, start) -> int:
    application_id = start()
    client.post(f"/alpha/portal/applications/{application_id}/lines", data=line_data(CAL_LINE))
    assert client.post(f"/alpha/portal/applications/{application_id}/submit",
                       data={"declaration": "y"}).status_code == 302
    return application_id


def _counts(tenant) -> tuple[int, int]:
    db.session.expire_all()
    with tenant_scope(tenant):
        history = db.session.execute(select(func.count(ApplicationEvent.id))).scalar_one()
    audit = db.session.execute(
        select(func.count(AuditEvent.id)).execution_options(**{ALL_TENANTS: True})).scalar_one()
    return history, audit


def test_the_lapse_job_lapses_overdue_applications_once(
    client, login_as, lab_user, start, tenant_a
):
    login_as(lab_user)
    application_id = _submit(client, start)
    app = load_application(tenant_a, application_id)
    lapses_on = app.lapses_on
    assert lapses_on > date.today()

    # The day before the lapse date nothing happens.
    assert lapse_overdue_applications((lapses_on - timedelta(days=1)).isoformat()) == 0
    assert load_application(tenant_a, application_id).status == "submitted"

    # On the lapse date it lapses.
    assert lapse_overdue_applications(lapses_on.isoformat()) == 1
    app = load_application(tenant_a, application_id)
    assert app.status == "lapsed"
    with tenant_scope(tenant_a):
        acc = db.session.execute(
            select(Accreditation).where(Accreditation.id == app.accreditation_id)).scalar_one()
        assert acc.status == "lapsed"
        assert set(db.session.execute(select(ScopeItem.status).where(
            ScopeItem.application_id == application_id)).scalars()) == {"refused"}
    lapsed_events = [e for e in db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "application.lapsed")
        .execution_options(**{ALL_TENANTS: True})).scalars()]
    assert [(e.object_id, e.actor_label) for e in lapsed_events] == [
        (str(application_id), "job:lapse_overdue_applications")]

    # The CAB sees it, with the history entry saying why.
    page = client.get(f"/alpha/portal/applications/{application_id}")
    assert status_shown(page) == "Lapsed"
    assert history_statuses(page) == ["Draft", "Submitted", "Lapsed"]
    assert "No grant decision within the validity period." in page.get_data(as_text=True)

    # Running it again changes nothing.
    before = _counts(tenant_a)
    assert lapse_overdue_applications((lapses_on + timedelta(days=400)).isoformat()) == 0
    assert _counts(tenant_a) == before


def test_drafts_and_finished_applications_do_not_lapse(
    client, login_as, lab_user, other_cab_user, start, tenant_a, manager
):
    login_as(lab_user)
    withdrawn = _submit(client, start)
    client.post(f"/alpha/portal/applications/{withdrawn}/withdraw")
    login_as(other_cab_user)
    draft = start()
    far_future = (date.today() + timedelta(days=3650)).isoformat()
    assert lapse_overdue_applications(far_future) == 0
    assert load_application(tenant_a, withdrawn).status == "withdrawn"
    assert load_application(tenant_a, draft).status == "draft"


def test_an_accepted_application_still_lapses_without_a_grant(
    client, login_as, lab_user, start, tenant_a, manager
):
    login_as(lab_user)
    application_id = _submit(client, start)
    login_as(manager)
    client.post(f"/alpha/applications/{application_id}/accept", data={})
    app = load_application(tenant_a, application_id)
    assert lapse_overdue_applications(app.lapses_on.isoformat()) == 1
    assert load_application(tenant_a, application_id).status == "lapsed"
