"""Publishing to the public directory: completeness (rule 26), partial suspension (rule 20),
retention of withdrawn entries (rule 27), history, idempotence and bulk writing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select, update

from accreditor.cabs.models import Cab, CabLocation
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import ScheduleVersion
from accreditor.directory import services
from accreditor.directory.models import DirectoryEvent, DirectoryLine
from accreditor.extensions import db
from accreditor.refdata.models import StandardEdition
from accreditor.scopes import services as scopes
from accreditor.scopes.models import Accreditation, ScopeItem
from accreditor.tenants.models import TenantPolicy
from tests.directory.conftest import (
    GRANTED,
    TODAY,
    accredited,
    big,
    decision,
    entry_of,
    issue,
    item_ids,
    load_acc,
    months_ago,
    suspend,
    withdraw,
)


def events(tenant, action: str) -> list[AuditEvent]:
    with tenant_scope(tenant):
        return list(db.session.execute(select(AuditEvent).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)).scalars())


def lines_of(tenant, entry_id: int) -> list[tuple]:
    with tenant_scope(tenant):
        return [tuple(r) for r in db.session.execute(
            select(DirectoryLine.position, DirectoryLine.status, DirectoryLine.summary)
            .where(DirectoryLine.entry_id == entry_id).order_by(DirectoryLine.position))]


def history_of(tenant, entry_id: int) -> list[tuple]:
    with tenant_scope(tenant):
        return [tuple(r) for r in db.session.execute(
            select(DirectoryEvent.occurred_on, DirectoryEvent.from_status,
                   DirectoryEvent.to_status, DirectoryEvent.sanction_type)
            .where(DirectoryEvent.entry_id == entry_id).order_by(DirectoryEvent.id))]


def test_a_granted_accreditation_is_published_with_its_public_fields(tenant_a):
    acc = accredited(tenant_a)
    entry = entry_of(tenant_a, acc.id)
    assert (entry.number, entry.legal_name, entry.trading_names) == (
        acc.number, "Precision Metrology Ltd", ["PML Calibration"])
    assert (entry.standard, entry.edition, entry.programme_code) == (
        "ISO/IEC 17025", "2017", "17025-C")
    assert [loc["code"] for loc in entry.locations] == ["A", "B"]
    assert entry.contacts == [{"name": "Pat Public", "position": "Quality manager",
                               "email": "pat@pml.example.org", "phone": None}]
    assert (entry.status, entry.status_since, entry.initial_grant_on) == (
        "accredited", GRANTED, GRANTED)
    assert (entry.schedule_issue_no, entry.schedule_issued_on) == (1, GRANTED)
    assert (entry.ended_on, entry.visible_until, entry.sanction_type) == (None, None, None)
    assert [(p, s) for p, s, _ in lines_of(tenant_a, entry.id)] == [
        (1, "accredited"), (2, "accredited"), (3, "accredited")]
    assert "precision metrology" in entry.search_text and "gauges" in entry.search_text
    assert [e.object_id for e in events(tenant_a, "directory.published")] == [str(entry.id)]


# -- rule 26: completeness --------------------------------------------------------------------


def _no_number(acc):
    acc.number = None


def _no_legal_name(acc):
    db.session.execute(update(Cab).where(Cab.id == acc.cab_id).values(legal_name="  "))


def _no_location(acc):
    db.session.execute(update(CabLocation).where(CabLocation.cab_id == acc.cab_id)
                       .values(is_active=False))


def _no_edition(acc):
    db.session.execute(update(StandardEdition).where(StandardEdition.id == acc.edition_id)
                       .values(edition="").execution_options(all_tenants=True))


def _no_scope(acc):
    db.session.execute(update(ScopeItem).where(ScopeItem.accreditation_id == acc.id)
                       .values(status="reduced"))


def _no_status(acc):
    acc.status = "unheard_of"


def _no_effective_date(acc):
    acc.initial_grant_on = None


def _no_schedule(acc):
    db.session.execute(ScheduleVersion.__table__.delete().where(
        ScheduleVersion.accreditation_id == acc.id))


@pytest.mark.parametrize("missing, breaks", [
    ("number", _no_number), ("legal_name", _no_legal_name), ("location", _no_location),
    ("standard_edition", _no_edition), ("scope", _no_scope), ("status", _no_status),
    ("effective_date", _no_effective_date), ("schedule", _no_schedule),
])
def test_an_incomplete_entry_is_refused_and_the_older_one_stays(tenant_a, missing, breaks):
    """A missing detail while the public status is unchanged (or unknown) keeps the older
    entry; a changed status is always published (the tests after "a worse status")."""
    acc = accredited(tenant_a)
    before = entry_of(tenant_a, acc.id)
    digest, published_at = before.digest, before.published_at
    with tenant_scope(tenant_a):
        a = load_acc(acc.id)
        breaks(a)
        db.session.flush()
        outcome = services.publish_outcome(a)
        assert services.publish(a) is None
        commit()
    assert (outcome.result, outcome.missing) == ("incomplete", (missing,))
    after = entry_of(tenant_a, acc.id)
    assert (after.digest, after.published_at, after.status) == (digest, published_at,
                                                                "accredited")
    refused = events(tenant_a, "directory.incomplete")
    assert refused[-1].changes["missing"] == [None, [missing]]
    assert refused[-1].object_type == "Accreditation"


def test_an_incomplete_first_publication_writes_no_entry(tenant_a):
    acc = accredited(tenant_a, publish=False)
    with tenant_scope(tenant_a):
        a = load_acc(acc.id)
        db.session.execute(ScheduleVersion.__table__.delete().where(
            ScheduleVersion.accreditation_id == a.id))
        assert services.publish(a) is None
        commit()
    assert entry_of(tenant_a, acc.id) is None


@pytest.mark.parametrize("status", ["applicant", "refused", "lapsed"])
def test_applicants_and_refusals_are_never_published(tenant_a, status):
    acc = accredited(tenant_a, publish=False)
    with tenant_scope(tenant_a):
        a = load_acc(acc.id)
        a.status = status
        db.session.flush()
        assert services.publish_outcome(a).result == "not_public"
        commit()
    assert entry_of(tenant_a, acc.id) is None
    assert events(tenant_a, "directory.incomplete") == []


# -- rule 20: partial suspension ----------------------------------------------------------------


def test_a_partial_suspension_marks_the_lines_and_the_entry(tenant_a):
    acc = accredited(tenant_a)
    ids = item_ids(tenant_a, acc.id)
    suspend(tenant_a, acc.id, ids[1:2], on=TODAY - timedelta(days=3))
    entry = entry_of(tenant_a, acc.id)
    assert (entry.status, entry.sanction_type) == ("partially_suspended", "imposed")
    assert (entry.lines_total, entry.lines_suspended) == (3, 1)
    assert (entry.schedule_issue_no, entry.status_since) == (2, TODAY - timedelta(days=3))
    assert [(p, s) for p, s, _ in lines_of(tenant_a, entry.id)] == [
        (1, "accredited"), (2, "suspended"), (3, "accredited")]
    assert history_of(tenant_a, entry.id) == [
        (GRANTED, None, "accredited", None),
        (TODAY - timedelta(days=3), "accredited", "partially_suspended", "imposed")]


def test_a_full_suspension_names_its_type(tenant_a):
    acc = accredited(tenant_a)
    suspend(tenant_a, acc.id, None, type_="financial")
    entry = entry_of(tenant_a, acc.id)
    assert (entry.status, entry.sanction_type, entry.lines_suspended) == (
        "suspended", "financial", 3)


# -- rule 27: retention -------------------------------------------------------------------------


@pytest.mark.parametrize("voluntary, status", [(False, "withdrawn"),
                                               (True, "voluntarily_withdrawn")])
def test_a_withdrawn_entry_stays_marked_for_the_retention_period(tenant_a, voluntary, status):
    acc = accredited(tenant_a, granted_on=months_ago(30))
    withdraw(tenant_a, acc.id, months_ago(2), voluntary=voluntary)
    entry = entry_of(tenant_a, acc.id)
    assert (entry.status, entry.ended_on) == (status, months_ago(2))
    assert entry.visible_until == months_ago(2) + relativedelta(months=12)
    assert [s for _, s, _ in lines_of(tenant_a, entry.id)] == ["withdrawn"] * 3
    assert history_of(tenant_a, entry.id)[-1][1:3] == ("accredited", status)


def test_retention_follows_the_tenant_policy(tenant_a):
    with tenant_scope(tenant_a):
        TenantPolicy.current().directory_retention_months = 3
        commit()
    acc = accredited(tenant_a, granted_on=months_ago(30))
    withdraw(tenant_a, acc.id, months_ago(2))
    entry = entry_of(tenant_a, acc.id)
    assert entry.visible_until == months_ago(2) + relativedelta(months=3)


# -- idempotence and history from the schedule issues -------------------------------------------


def test_republishing_an_unchanged_accreditation_writes_nothing(tenant_a, count_queries):
    acc = accredited(tenant_a)
    first = entry_of(tenant_a, acc.id)
    line_ids = None
    with tenant_scope(tenant_a):
        line_ids = list(db.session.execute(select(DirectoryLine.id).where(
            DirectoryLine.entry_id == first.id)).scalars())
        outcome = services.publish_outcome(load_acc(acc.id))
        commit()
    assert outcome.result == "unchanged"
    again = entry_of(tenant_a, acc.id)
    assert (again.id, again.published_at, again.digest) == (first.id, first.published_at,
                                                            first.digest)
    with tenant_scope(tenant_a):
        assert list(db.session.execute(select(DirectoryLine.id).where(
            DirectoryLine.entry_id == first.id)).scalars()) == line_ids
    assert len(events(tenant_a, "directory.published")) == 1


def test_a_rebuild_from_scratch_gives_the_same_entry_and_history(tenant_a):
    acc = accredited(tenant_a)
    suspend(tenant_a, acc.id, item_ids(tenant_a, acc.id)[:1], on=TODAY - timedelta(days=9))
    suspend(tenant_a, acc.id, item_ids(tenant_a, acc.id)[1:], on=TODAY - timedelta(days=2),
            type_="voluntary")
    entry = entry_of(tenant_a, acc.id)
    digest, lines, history = entry.digest, lines_of(tenant_a, entry.id), history_of(
        tenant_a, entry.id)
    assert [h[2] for h in history] == ["accredited", "partially_suspended", "suspended"]
    with tenant_scope(tenant_a):
        db.session.delete(entry)
        db.session.flush()
        services.rebuild()
        commit()
    rebuilt = entry_of(tenant_a, acc.id)
    assert len(events(tenant_a, "directory.published")) == 4  # grant, 2 suspensions, rebuild
    assert (rebuilt.digest, rebuilt.sanction_type) == (digest, "voluntary")
    assert lines_of(tenant_a, rebuilt.id) == lines
    assert history_of(tenant_a, rebuilt.id) == history


def test_republishing_a_big_scope_takes_the_same_statements_as_a_small_one(
        tenant_a, count_queries):
    def statements(n: int) -> int:
        acc = big(tenant_a, n, legal_name=f"Lab of {n} lines")
        with tenant_scope(tenant_a):
            services.publish(load_acc(acc.id))  # first publication
            db.session.execute(update(ScopeItem).where(
                ScopeItem.accreditation_id == acc.id, ScopeItem.position == 1)
                .values(status="suspended"))  # every line rewritten on the next publish
            a = load_acc(acc.id)
            with count_queries() as q:
                entry = services.publish(a)
            assert entry.lines_suspended == 1 and entry.lines_total == n
            commit()
        return q.count

    assert statements(5) == statements(2000)


def test_lines_carry_only_the_programmes_schedule_fields(tenant_a):
    acc = accredited(tenant_a, lines=1)
    with tenant_scope(tenant_a):
        db.session.execute(update(ScopeItem).where(ScopeItem.accreditation_id == acc.id)
                           .values(fields={"quantity": "Gauges", "internal_note": "SECRET"}))
        services.publish(load_acc(acc.id))
        commit()
        fields = db.session.execute(select(DirectoryLine.fields)).scalar_one()
    assert fields == {"quantity": "Gauges"}


def test_an_accreditation_without_a_prior_issue_of_its_grant_starts_its_history_there(
        tenant_a):
    acc = accredited(tenant_a, publish=False)
    with tenant_scope(tenant_a):
        db.session.execute(ScheduleVersion.__table__.delete().where(
            ScheduleVersion.accreditation_id == acc.id))
        commit()
    suspend(tenant_a, acc.id, None, on=TODAY)
    entry = entry_of(tenant_a, acc.id)
    assert history_of(tenant_a, entry.id) == [
        (GRANTED, None, "accredited", None), (TODAY, "accredited", "suspended", "imposed")]
    with tenant_scope(tenant_a):
        assert db.session.execute(select(Accreditation.status).where(
            Accreditation.id == acc.id)).scalar_one() == "suspended"


# -- a worse status is always published, even with a detail missing (F1) ----------------------


def _inactive(tenant, acc_id: int, on) -> None:
    with tenant_scope(tenant):
        acc = load_acc(acc_id)
        d = decision(acc, "inactive", on)
        scopes.set_inactive(acc, active=False)
        issue(acc, on, d)
        services.publish(acc, decision=d)
        commit()


def test_an_inactive_accreditation_is_published_as_inactive(tenant_a):
    acc = accredited(tenant_a)
    _inactive(tenant_a, acc.id, TODAY - timedelta(days=1))
    entry = entry_of(tenant_a, acc.id)
    assert (entry.status, entry.status_label, entry.status_since) == (
        "inactive", "Inactive", TODAY - timedelta(days=1))
    assert (entry.schedule_issue_no, entry.ended_on, entry.lines_total) == (2, None, 3)
    assert history_of(tenant_a, entry.id)[-1] == (TODAY - timedelta(days=1), "accredited",
                                                  "inactive", None)


def test_withdrawn_by_reducing_every_line_shows_withdrawn_with_the_last_lines(tenant_a):
    acc = accredited(tenant_a)
    with tenant_scope(tenant_a):
        a = load_acc(acc.id)
        d = decision(a, "reduce", TODAY)
        scopes.reduce(a, item_ids=item_ids(tenant_a, acc.id), effective_on=TODAY,
                      decision_id=d.id)
        assert a.status == "withdrawn"
        issue(a, TODAY, d)
        outcome = services.publish_outcome(a, decision=d)
        commit()
    assert outcome.result == "published"
    entry = entry_of(tenant_a, acc.id)
    assert (entry.status, entry.ended_on, entry.schedule_issue_no) == ("withdrawn", TODAY, 2)
    assert entry.visible_until == TODAY + relativedelta(months=12)
    assert [(p, s) for p, s, _ in lines_of(tenant_a, entry.id)] == [
        (1, "withdrawn"), (2, "withdrawn"), (3, "withdrawn")]
    assert history_of(tenant_a, entry.id)[-1][1:3] == ("accredited", "withdrawn")
    assert events(tenant_a, "directory.published")[-1].changes["kept_from_previous"] == [
        None, ["scope"]]


def test_withdrawn_after_the_cab_closed_its_locations_keeps_the_last_ones(tenant_a):
    acc = accredited(tenant_a)
    with tenant_scope(tenant_a):
        db.session.execute(update(CabLocation).where(CabLocation.cab_id == acc.cab_id)
                           .values(is_active=False))
        commit()
    withdraw(tenant_a, acc.id, TODAY)
    entry = entry_of(tenant_a, acc.id)
    assert (entry.status, entry.ended_on) == ("withdrawn", TODAY)
    assert [loc["code"] for loc in entry.locations] == ["A", "B"]


def test_the_sanction_is_that_of_the_suspension_still_in_force(tenant_a):
    acc = accredited(tenant_a)
    ids = item_ids(tenant_a, acc.id)
    suspend(tenant_a, acc.id, ids[:1], on=TODAY - timedelta(days=5), type_="financial")
    suspend(tenant_a, acc.id, ids[1:2], on=TODAY - timedelta(days=2), type_="voluntary")
    with tenant_scope(tenant_a):  # the later (voluntary) suspension's line is reinstated
        a = load_acc(acc.id)
        d = decision(a, "reinstate", TODAY)
        scopes.reinstate(a, item_ids=ids[1:2], effective_on=TODAY, decision_id=d.id)
        issue(a, TODAY, d)
        services.publish(a, decision=d)
        commit()
    entry = entry_of(tenant_a, acc.id)
    assert (entry.status, entry.sanction_type) == ("partially_suspended", "financial")


# -- the CAB's public details are republished when they change (F2) ---------------------------


def test_a_cabs_public_details_are_republished_when_they_change(tenant_a):
    from accreditor.cabs import services as cab_services
    from accreditor.cabs.models import CabContact

    acc = accredited(tenant_a)
    with tenant_scope(tenant_a):
        cab = db.session.get(Cab, acc.cab_id)
        public = db.session.execute(select(CabContact).where(
            CabContact.cab_id == cab.id, CabContact.is_public)).scalar_one()
        cab_services.update_contact(public, is_public=False)
        commit()
    assert entry_of(tenant_a, acc.id).contacts == []
    with tenant_scope(tenant_a):
        cab = db.session.get(Cab, acc.cab_id)
        cab_services.add_contact(cab, name="Quinn Public", is_public=True)
        commit()
    assert [c["name"] for c in entry_of(tenant_a, acc.id).contacts] == ["Quinn Public"]
    with tenant_scope(tenant_a):
        quinn = db.session.execute(select(CabContact).where(
            CabContact.name == "Quinn Public")).scalar_one()
        cab_services.remove_contact(quinn)
        annex = db.session.execute(select(CabLocation).where(
            CabLocation.cab_id == acc.cab_id, CabLocation.code == "B")).scalar_one()
        cab_services.update_location(annex, code="B", name="Annex", address="9 New Road",
                                     country="GB", kind="permanent")
        cab_services.update_cab(db.session.get(Cab, acc.cab_id),
                                legal_name="Precision Metrology Group Ltd")
        commit()
    entry = entry_of(tenant_a, acc.id)
    assert entry.contacts == []
    assert [loc["address"] for loc in entry.locations if loc["code"] == "B"] == ["9 New Road"]
    assert entry.legal_name == "Precision Metrology Group Ltd"
    assert entry.status == "accredited"


def test_an_accreditations_changed_details_are_republished(tenant_a):
    acc = accredited(tenant_a)
    expiry = load_acc_cycle_end(tenant_a, acc.id) - timedelta(days=30)
    with tenant_scope(tenant_a):
        scopes.update_accreditation(load_acc(acc.id), ib_type=None, expiry_on=expiry)
        commit()
    assert entry_of(tenant_a, acc.id).expiry_on == expiry


def test_a_cab_change_publishes_no_entry_that_was_not_published(tenant_a):
    from accreditor.cabs import services as cab_services

    acc = accredited(tenant_a, publish=False)
    with tenant_scope(tenant_a):
        cab_services.update_cab(db.session.get(Cab, acc.cab_id), legal_name="Renamed Ltd")
        commit()
    assert entry_of(tenant_a, acc.id) is None


def load_acc_cycle_end(tenant, acc_id: int):
    with tenant_scope(tenant):
        return load_acc(acc_id).cycle_end_on
