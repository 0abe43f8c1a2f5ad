"""The rules of the application services, below the pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accreditor.applications import services
from accreditor.applications.models import (
    TRANSITIONS,
    Application,
    ApplicationStatus,
    ApplicationType,
)
from accreditor.cabs.models import Cab
from accreditor.core.db import commit
from accreditor.core.errors import Conflict, InvalidTransition, ValidationFailed
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.refdata.services import programme_by_code
from accreditor.scopes.models import Accreditation, ScopeItem
from tests.factories import CAL_LINE, create_accreditation

S = ApplicationStatus


@pytest.mark.parametrize("before", list(S))
@pytest.mark.parametrize("after", list(S))
def test_the_transition_table_decides_every_move(before, after):
    app = Application(status=before.value)
    assert app.can_move_to(after) == (after in TRANSITIONS[before])
    if after in TRANSITIONS[before]:
        app.set_status(after)
        assert app.status == after.value
    else:
        with pytest.raises(InvalidTransition):
            app.set_status(after)
        assert app.status == before.value


def test_a_draft_only_moves_to_submitted_because_only_drafts_may_lack_a_submission_date():
    """The CHECK constraint submitted_has_date allows no submission date only for drafts, so a
    draft cannot become withdrawn; the CAB discards it instead."""
    assert TRANSITIONS[S.draft] == {S.submitted}
    for status, targets in TRANSITIONS.items():
        assert S.draft not in targets, status


def _lab(tenant) -> Cab:
    return db.session.execute(select(Cab).where(Cab.legal_name == "Precision Calibration Ltd")
                              ).scalar_one()


def _accreditation(acc_id: int) -> Accreditation:
    return db.session.execute(select(Accreditation).where(Accreditation.id == acc_id)
                              .options(selectinload(Accreditation.programme))).scalar_one()


def _items(acc_id: int) -> list[int]:
    return list(db.session.execute(select(ScopeItem.id).where(
        ScopeItem.accreditation_id == acc_id).order_by(ScopeItem.id)).scalars())


def test_a_reduction_names_only_current_lines_of_its_own_accreditation(
    tenant_a, lab, other_cab, accredited
):
    other = create_accreditation(tenant_a, other_cab, "17025-C", lines=[CAL_LINE])
    with tenant_scope(tenant_a):
        acc = _accreditation(accredited)
        mine, foreign = _items(accredited), _items(other.id)
        with pytest.raises(ValidationFailed) as exc:
            services.start_application(_lab(tenant_a), type=ApplicationType.reduction,
                                       programme=acc.programme, accreditation=acc,
                                       target_item_ids=[mine[0], foreign[0]])
        assert exc.value.field == "target_item_ids"
        app = services.start_application(_lab(tenant_a), type=ApplicationType.reduction,
                                         programme=acc.programme, accreditation=acc,
                                         target_item_ids=[mine[1]])
        assert app.target_item_ids == [mine[1]]
        with pytest.raises(ValidationFailed):
            services.update_draft(app, summary="x", location_codes=None,
                                  target_item_ids=foreign)
        assert app.target_item_ids == [mine[1]]


def test_a_reduction_or_voluntary_suspension_needs_lines_but_a_withdrawal_may_name_none(
    tenant_a, lab, accredited
):
    with tenant_scope(tenant_a):
        acc = _accreditation(accredited)
        for kind in (ApplicationType.reduction, ApplicationType.voluntary_suspension):
            app = services.start_application(_lab(tenant_a), type=kind,
                                             programme=acc.programme, accreditation=acc)
            with pytest.raises(ValidationFailed, match="Choose the scope lines"):
                services.submit_application(app, declaration=True)
        app = services.start_application(_lab(tenant_a),
                                         type=ApplicationType.voluntary_withdrawal,
                                         programme=acc.programme, accreditation=acc)
        services.submit_application(app, declaration=True)
        assert app.status == "submitted"


def test_only_applications_that_add_scope_take_requested_lines(tenant_a, lab, accredited):
    with tenant_scope(tenant_a):
        acc = _accreditation(accredited)
        app = services.start_application(_lab(tenant_a), type=ApplicationType.change_of_details,
                                         programme=acc.programme, accreditation=acc)
        with pytest.raises(Conflict):
            services.add_requested_line(app, CAL_LINE)
        extension = services.start_application(_lab(tenant_a), type=ApplicationType.extension,
                                               programme=acc.programme, accreditation=acc)
        item = services.add_requested_line(extension, {**CAL_LINE, "quantity": "Barometers"})
        assert (item.application_id, item.status) == (extension.id, "applied")


def test_refusing_in_the_wrong_state_changes_nothing(tenant_a, lab):
    with tenant_scope(tenant_a):
        app = services.start_application(_lab(tenant_a), type=ApplicationType.initial,
                                         programme=programme_by_code("17025-C"))
        with pytest.raises(InvalidTransition):
            services.refuse_application(app, reason="No.")
        assert (app.status, app.decision_reason, app.decided_at) == ("draft", None, None)


def test_a_draft_cannot_be_withdrawn_but_can_be_discarded(tenant_a, lab):
    with tenant_scope(tenant_a):
        app = services.start_application(_lab(tenant_a), type=ApplicationType.initial,
                                         programme=programme_by_code("17025-C"))
        with pytest.raises(InvalidTransition):
            services.withdraw_application(app)
        services.discard_draft(app)
        commit()
        assert db.session.execute(select(Application)).first() is None


def test_an_extension_is_started_only_on_a_current_accreditation(tenant_a, lab):
    acc = create_accreditation(tenant_a, lab, "17025-C", lines=[CAL_LINE])
    with tenant_scope(tenant_a):
        acc = _accreditation(acc.id)
        with pytest.raises(Conflict, match="only a current accreditation"):
            services.start_application(_lab(tenant_a), type=ApplicationType.extension,
                                       programme=acc.programme, accreditation=acc)
