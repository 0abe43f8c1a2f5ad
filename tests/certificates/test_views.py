"""Who downloads which PDF: staff every issue, a CAB user their own CAB's; the public only
through the directory (tests/directory), never by schedule id; another CAB's or tenant's is a
404. The schedule
page links the PDFs (or says they are being prepared) in a bounded number of queries. The AB's
identity (address, website, e-mail, logo) on the settings pages."""

from __future__ import annotations

import io
from datetime import date

from PIL import Image
from sqlalchemy import select

from accreditor.certificates import jobs
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import ScheduleVersion
from accreditor.decisions.services import issue_schedule
from accreditor.extensions import db
from accreditor.tenants.models import Tenant
from tests.auth.helpers import field_error, flashes, text
from tests.certificates.conftest import build_lab, count, load_acc
from tests.factories import CAL_LINE


def pdf_url(lab, version_id, kind="schedule", *, public=False, slug=None) -> str:
    where = "public" if public else "schedules"
    return f"/{slug or lab.tenant.slug}/certificates/{where}/{version_id}/{kind}.pdf"


def test_staff_download_every_issue_and_each_download_is_audited(client, login_as, lab):
    first = lab.versions()[0]
    second = lab.issue()
    login_as(lab.staff)
    for v in (first, second):
        for kind in ("schedule", "certificate"):
            resp = client.get(pdf_url(lab, v, kind))
            assert resp.status_code == 200, (v, kind)
            assert resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF-")
            assert "attachment" in resp.headers["Content-Disposition"]
            assert f"{kind}-" in resp.headers["Content-Disposition"]
    assert count(lab.tenant, AuditEvent, AuditEvent.action == "document.downloaded") == 4


def test_a_cab_user_downloads_their_own_cabs_issues_only(client, login_as, lab):
    first = lab.versions()[0]
    login_as(lab.cab_user)
    assert client.get(pdf_url(lab, first)).status_code == 200
    assert client.get(pdf_url(lab, first, "certificate")).status_code == 200
    login_as(lab.other_cab_user)
    assert client.get(pdf_url(lab, first)).status_code == 404
    assert client.get(pdf_url(lab, first, "certificate")).status_code == 404


def test_another_tenant_gets_404_on_our_documents(client, login_as, lab, tenant_b):
    other = build_lab(tenant_b, prefix="b-")
    first = lab.versions()[0]
    login_as(other.staff)
    # On our slug (not a member) and on their own slug with our id.
    assert client.get(pdf_url(lab, first)).status_code == 404
    assert client.get(pdf_url(lab, first, slug="bravo")).status_code == 404


def test_there_is_no_public_download_by_schedule_id(client, lab):
    """One public policy: the directory's route (retention, rule 27). A route keyed by the
    sequential schedule id would serve a withdrawn entry's PDF after its retention ended."""
    first = lab.versions()[0]
    for kind in ("schedule", "certificate"):
        assert client.get(pdf_url(lab, first, kind, public=True)).status_code == 404
        # The signed-in route is not public.
        assert client.get(pdf_url(lab, first, kind)).status_code in (302, 401)
    assert count(lab.tenant, AuditEvent, AuditEvent.action == "document.downloaded") == 0


def test_staff_download_an_applicants_issue(client, login_as, tenant_a):
    lab = build_lab(tenant_a, grant=False, lines=[CAL_LINE])
    v_id = lab.issue()  # an issue of an applicant (status applicant)
    login_as(lab.staff)
    assert client.get(pdf_url(lab, v_id)).status_code == 200


def test_a_document_being_prepared_is_refused_with_a_message(client, login_as, lab):
    with tenant_scope(lab.tenant):
        v = ScheduleVersion(cab_id=lab.cab.id, accreditation_id=lab.acc_id, issue_no=2,
                            issued_on=date.today(), status="accredited", lines=[])
        db.session.add(v)
        commit()
    login_as(lab.staff)
    resp = client.get(pdf_url(lab, v.id))
    assert resp.status_code == 409
    assert "being prepared" in text(resp)
    page = client.get(f"/alpha/decisions/schedules/{v.id}")
    assert "being prepared" in text(page)


def test_the_schedule_pages_link_the_pdfs(client, login_as, lab):
    first = lab.versions()[0]
    login_as(lab.staff)
    page = client.get(f"/alpha/decisions/schedules/{first}").get_data(as_text=True)
    assert pdf_url(lab, first) in page and pdf_url(lab, first, "certificate") in page
    login_as(lab.cab_user)
    page = client.get(f"/alpha/portal/decisions/schedules/{first}").get_data(as_text=True)
    assert pdf_url(lab, first) in page and "being prepared" not in page


def _big(lab, n: int) -> int:
    with tenant_scope(lab.tenant):
        acc = load_acc(lab.acc_id)
        v = issue_schedule(acc, None)
        v.lines = [{**v.lines[0], "id": 1000 + i, "position": i} for i in range(n)]
        db.session.flush()
        commit()
    return v.id


def test_the_schedule_page_runs_the_same_queries_at_any_size(client, login_as, lab,
                                                             count_queries):
    small, large = _big(lab, 2), _big(lab, 300)
    login_as(lab.staff)
    counts = []
    for v in (small, large):
        with count_queries() as q:
            assert client.get(f"/alpha/decisions/schedules/{v}").status_code == 200
        counts.append(q.count)
    assert counts[0] == counts[1]
    assert lab.tenant.slug  # loaded before counting (the links carry it)
    with count_queries() as q:
        from flask import render_template_string

        from accreditor.core.tenancy import tenant_scope as scope

        with scope(lab.tenant):
            html = render_template_string(f"{{{{ schedule_documents({large}) }}}}")
    assert q.count == 1, q.statements
    assert "schedule.pdf" in html


# -- the AB's identity ---------------------------------------------------------------------------


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 20), (10, 40, 120)).save(out, fmt)
    return out.getvalue()


def test_an_admin_sets_the_identity_and_logo_printed_on_new_documents(client, login_as,
                                                                      admin_a, lab):
    login_as(admin_a)
    resp = client.post("/alpha/settings/identity", data={
        "public_address": "2 Pine Trees\nStaines TW18 3HR", "website": "https://alpha.example.org",
        "public_email": "Info@Alpha.example.org",
        "logo": (io.BytesIO(_image("PNG")), "logo.png")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    settings = client.get("/alpha/settings")
    assert "2 Pine Trees" in text(settings)
    assert 'data-testid="logo"' in settings.get_data(as_text=True)
    assert count(lab.tenant, AuditEvent, AuditEvent.action == "tenant.identity_updated") == 1
    v_id = lab.issue()
    with tenant_scope(lab.tenant):
        v = db.session.execute(select(ScheduleVersion).where(ScheduleVersion.id == v_id)
                               ).scalar_one()
        assert v.details["ab"]["address"] == "2 Pine Trees\nStaines TW18 3HR"
        assert v.details["ab"]["email"] == "info@alpha.example.org"
        assert v.details["ab"].get("logo_sha256")
    login_as(lab.staff)
    assert b"/Subtype /Image" in client.get(pdf_url(lab, v_id, "certificate")).data


def test_a_logo_that_is_not_png_or_jpeg_is_refused(client, login_as, admin_a):
    login_as(admin_a)
    resp = client.post("/alpha/settings/identity", data={
        "public_address": "Somewhere", "logo": (io.BytesIO(_image("GIF")), "logo.png")},
        content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "PNG or JPEG" in field_error(resp, "logo")
    tenant = db.session.execute(select(Tenant).where(Tenant.slug == "alpha")).scalar_one()
    db.session.refresh(tenant)
    assert tenant.logo_document_id is None and tenant.public_address is None


def test_a_jpeg_logo_replaces_the_previous_one(client, login_as, tenant_a, admin_a):
    login_as(admin_a)
    for fmt in ("PNG", "JPEG"):
        resp = client.post("/alpha/settings/identity", data={
            "logo": (io.BytesIO(_image(fmt)), f"logo.{fmt.lower()}")},
            content_type="multipart/form-data")
        assert resp.status_code == 302, flashes(resp)
    from accreditor.documents.models import Document

    with tenant_scope(tenant_a):
        docs = db.session.execute(select(Document).where(Document.owner_type == "tenant_logo")
                                  .order_by(Document.id)).scalars().all()
    assert [d.media_type for d in docs] == ["image/png", "image/jpeg"]
    assert docs[0].superseded_by_id == docs[1].id


def test_only_admins_change_the_identity(client, login_as, lab):
    login_as(lab.staff)
    assert client.get("/alpha/settings/identity").status_code == 403
    assert client.post("/alpha/settings/identity", data={"public_address": "x"}
                       ).status_code == 403


def test_the_job_runs_on_rq_when_redis_is_configured(app, lab, monkeypatch):
    """With REDIS_URL the render is queued on RQ, not run in-process."""
    queued = []
    monkeypatch.setattr("accreditor.core.jobs._enqueue_rq", lambda spec: queued.append(spec))
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:6379/15")
    v_id = lab.issue()
    assert [(s.path, s.args) for s in queued] == [
        ("accreditor.certificates.jobs.render_documents", (lab.tenant.id, v_id))]
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    assert jobs.render_documents(lab.tenant.id, v_id) == 2
