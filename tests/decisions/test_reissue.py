"""Rule 28: the schedule's issue number goes up on every detail change the documents show, not
only on scope changes — and not when nothing shown changed."""

from __future__ import annotations

from sqlalchemy import func, select

from accreditor.cabs import services as cabs
from accreditor.cabs.models import Cab, CabLocation
from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import ScheduleVersion
from accreditor.decisions.services import issue_schedule
from accreditor.extensions import db
from accreditor.scopes import services as scopes
from tests.decisions.conftest import acc_of


def _issued(world) -> None:
    with tenant_scope(world.tenant):
        issue_schedule(acc_of(world), None)
        commit()


def _issues(world) -> list[int]:
    with tenant_scope(world.tenant):
        return db.session.execute(select(ScheduleVersion.issue_no).where(
            ScheduleVersion.accreditation_id == world.acc.id).order_by(
            ScheduleVersion.issue_no)).scalars().all()


def _cab(world) -> Cab:
    return db.session.execute(select(Cab).where(Cab.id == world.cab.id)).scalar_one()


def test_a_change_of_the_cabs_name_issues_the_next_schedule_with_it(world):
    _issued(world)
    with tenant_scope(world.tenant):
        cabs.update_cab(_cab(world), legal_name="Precision Metrology Group Ltd")
        commit()
        latest = db.session.execute(select(ScheduleVersion).where(
            ScheduleVersion.accreditation_id == world.acc.id).order_by(
            ScheduleVersion.issue_no.desc()).limit(1)).scalar_one()
    assert _issues(world) == [1, 2]
    assert latest.details["cab"]["legal_name"] == "Precision Metrology Group Ltd"
    assert latest.decision_id is None


def test_a_new_location_and_a_new_expiry_each_issue_the_next_schedule(world):
    _issued(world)
    with tenant_scope(world.tenant):
        cabs.add_location(_cab(world), code="Z", name="Annex", address="9 New Road",
                          country="GB", kind="permanent")
        commit()
        acc = acc_of(world)
        scopes.update_accreditation(acc, ib_type=None, expiry_on=acc.cycle_end_on)
        commit()
    assert _issues(world) == [1, 2, 3]


def test_saving_what_the_schedule_does_not_show_issues_nothing(world):
    _issued(world)
    with tenant_scope(world.tenant):
        # Internal details (the CAB's related bodies) are not on the schedule.
        cabs.update_cab(_cab(world), related_bodies="A sister company, training only")
        commit()
        # Saving the accreditation unchanged issues nothing either.
        acc = acc_of(world)
        scopes.update_accreditation(acc, ib_type=None, expiry_on=acc.expiry_on)
        commit()
    assert _issues(world) == [1]


def test_no_schedule_is_issued_for_an_accreditation_that_has_none_yet(applicant):
    with tenant_scope(applicant.tenant):
        loc = db.session.execute(select(CabLocation).where(
            CabLocation.cab_id == applicant.cab.id)).scalars().first()
        values = {k: getattr(loc, k) for k in cabs.LOCATION_FIELDS}
        cabs.update_location(loc, **{**values, "name": "Renamed laboratory"})
        commit()
        assert db.session.execute(select(func.count(ScheduleVersion.id))).scalar_one() == 0


def test_what_the_documents_do_not_print_issues_nothing(world):
    """A location's critical flag or kind, or an inactive location, is not on the schedule."""
    _issued(world)
    with tenant_scope(world.tenant):
        loc = db.session.execute(select(CabLocation).where(
            CabLocation.cab_id == world.cab.id)).scalars().first()
        values = {k: getattr(loc, k) for k in cabs.LOCATION_FIELDS}
        cabs.update_location(loc, **{**values, "is_critical": not loc.is_critical})
        commit()
    assert _issues(world) == [1]


def test_an_issue_from_before_snapshots_is_not_reissued_by_an_unrelated_edit(world):
    _issued(world)
    with tenant_scope(world.tenant):
        db.session.execute(ScheduleVersion.__table__.update().values(details={}))
        commit()
        cabs.update_cab(_cab(world), related_bodies="A sister company, training only")
        commit()
    assert _issues(world) == [1]
