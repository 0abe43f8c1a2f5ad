"""The snapshot taken at issue, the render job (both PDFs, audited, idempotent, immutable rows)
and ``current_document``."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from accreditor.certificates import jobs, services
from accreditor.certificates.models import ImmutableDocument, RenderedDocument
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.storage import get_storage
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import ScheduleVersion
from accreditor.documents.models import Document
from accreditor.extensions import db
from tests.certificates.conftest import GRANTED, count


def version(lab, ident) -> ScheduleVersion:
    db.session.expire_all()
    with tenant_scope(lab.tenant):
        return db.session.execute(select(ScheduleVersion).where(
            ScheduleVersion.id == ident)).scalar_one()


def test_issue_snapshots_what_the_documents_show(lab):
    v = version(lab, lab.versions()[0])
    d = v.details
    assert d["cab"]["legal_name"] == "Precision Metrology Ltd"
    assert d["cab"]["address"] == "1 Test Street, Town"
    assert [x["code"] for x in d["locations"]] == ["A", "B"]
    assert d["standard_label"] == "ISO/IEC 17025:2017"
    assert d["programme"]["scope_type"] == "calibration"
    assert d["number"] and d["issue_no"] == 1 and d["status"] == "accredited"
    assert d["initial_grant_on"] == GRANTED.isoformat()
    assert d["ab"]["name"] == "Alpha Accreditation Service"
    assert d["verify_url"] == f"http://localhost/verify/?number={d['number']}&ab=alpha"
    assert d["terms"]["calibration_discipline"]["PRES"]  # the discipline's name, kept


def test_the_job_renders_both_documents_once_and_audits_each(lab):
    v_id = lab.versions()[0]
    with tenant_scope(lab.tenant):
        rows = db.session.execute(select(RenderedDocument).where(
            RenderedDocument.schedule_version_id == v_id)).scalars().all()
        assert sorted(r.kind for r in rows) == ["certificate", "schedule"]
        for r in rows:
            doc = db.session.execute(select(Document).where(Document.id == r.document_id)
                                     ).scalar_one()
            assert doc.owner_type == "schedule_version" and doc.owner_id == v_id
            assert doc.sha256 == r.sha256 and doc.media_type == "application/pdf"
            with get_storage().open(r.sha256) as fh:
                assert fh.read(5) == b"%PDF-"
        actions = db.session.execute(select(AuditEvent.action).where(
            AuditEvent.action.in_(["schedule.rendered", "certificate.rendered"]))).scalars()
        assert sorted(actions) == ["certificate.rendered", "schedule.rendered"]
    # A second delivery of the job changes nothing.
    assert jobs.render_documents(lab.tenant.id, v_id) == 0
    assert count(lab.tenant, RenderedDocument) == 2
    assert count(lab.tenant, AuditEvent, AuditEvent.action.like("%.rendered")) == 2


def test_rendered_documents_cannot_be_changed(lab):
    with tenant_scope(lab.tenant):
        row = db.session.execute(select(RenderedDocument)).scalars().first()
        row.page_count = 99
        with pytest.raises(ImmutableDocument):
            db.session.flush()
    db.session.rollback()


def test_current_document_is_the_latest_issue_or_none_while_it_renders(lab):
    first = lab.versions()[0]
    with tenant_scope(lab.tenant):
        assert services.current_document(lab.acc_id, "schedule").schedule_version_id == first
        # A new issue whose job has not run yet: nothing current until it renders.
        v = ScheduleVersion(cab_id=lab.cab.id, accreditation_id=lab.acc_id, issue_no=2,
                            issued_on=date.today(), status="accredited", lines=[])
        db.session.add(v)
        commit()
        assert services.current_document(lab.acc_id, "schedule") is None
        assert services.current_document(lab.acc_id, "certificate") is None
    jobs.render_documents(lab.tenant.id, v.id)
    with tenant_scope(lab.tenant):
        assert services.current_document(lab.acc_id, "certificate").schedule_version_id == v.id


def test_a_suspension_issue_renders_its_lines_marked_suspended(lab):
    v_id = lab.suspend_first()
    v = version(lab, v_id)
    assert v.details["status"] == "partially_suspended"
    _data, _pages, pdf = services.draw("schedule", v.details, v.lines, record=True)
    text = pdf.recorded.all_text
    assert "PARTIALLY SUSPENDED" in text and "SUSPENDED – Pressure gauges" in text


def test_another_tenants_version_is_not_rendered_from_ours(lab, tenant_b):
    with tenant_scope(tenant_b):
        assert services.render_version(lab.versions()[0]) == []
        assert services.current_document(lab.acc_id, "schedule") is None


def test_the_suspended_locations_are_those_of_every_suspension_still_in_force(tenant_a):
    """A later issue (another suspension, a reinstatement) keeps marking the locations of a
    suspension still in force, and stops once it is lifted (rule 20)."""
    from accreditor.core.permissions import Role
    from tests.decisions.conftest import decide, reported
    from tests.decisions.test_sanctions import more_lines
    from tests.factories import create_member
    from tests.findings.conftest import build_world

    world = build_world(tenant_a)
    maker = create_member(tenant_a, "decider@alpha.example.org", [Role.decision_maker],
                          name="Dora Decider")
    ids = more_lines(world, tenant_a)  # two lines performed at location B
    by_location = decide(world, maker, "suspend", input_ids=[], suspension_type="imposed",
                         extent="partial", location_codes=["B"])
    decide(world, maker, "suspend", input_ids=[], suspension_type="voluntary",
           extent="partial", item_ids=ids[:1])

    def latest_locations():
        db.session.expire_all()
        with tenant_scope(tenant_a):
            return db.session.execute(select(ScheduleVersion.details).where(
                ScheduleVersion.accreditation_id == world.acc.id)
                .order_by(ScheduleVersion.issue_no.desc()).limit(1)).scalar_one()[
                "suspended_locations"]

    assert latest_locations() == ["B"]
    reported(world, recommendation="reinstate")
    decide(world, maker, "reinstate", suspension_id=by_location.id)
    assert latest_locations() == []


def test_the_qr_code_lands_on_the_verification_page_which_answers(lab, client):
    """Issue 7 point 3: the certificate's QR code opens /verify for the accreditation."""
    from accreditor.directory import services as directory
    from accreditor.scopes.models import Accreditation

    v = version(lab, lab.versions()[0])
    with tenant_scope(lab.tenant):
        directory.publish(db.session.execute(select(Accreditation).where(
            Accreditation.id == v.accreditation_id)).scalar_one())
        commit()
    url = v.details["verify_url"].removeprefix("http://localhost")
    body = client.get(url).get_data(as_text=True)
    assert "Yes." in body and v.details["number"] in body
