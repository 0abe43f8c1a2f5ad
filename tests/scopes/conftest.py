"""People, a calibration laboratory and its accreditation for the scope page tests."""

from __future__ import annotations

import pytest

from accreditor.core.permissions import Role
from tests.factories import CAL_LINE, create_accreditation, create_cab


@pytest.fixture
def manager_a(tenant_a, make_user):
    return make_user(tenant_a, "manager@alpha.example.org", [Role.manager], name="Mona Manager")


@pytest.fixture
def assessor_a(tenant_a, make_user):
    return make_user(tenant_a, "assessor@alpha.example.org", [Role.assessor], name="Aziz Assessor")


@pytest.fixture
def decider_a(tenant_a, make_user):
    return make_user(tenant_a, "decider@alpha.example.org", [Role.decision_maker],
                     name="Dora Decider")


@pytest.fixture
def cab(tenant_a):
    return create_cab(tenant_a, "Precision Calibration Ltd",
                      locations=(("A", "Main laboratory"), ("B", "Electrical laboratory")))


@pytest.fixture
def cal_acc(tenant_a, cab):
    """A calibration laboratory's accreditation (applicant) with one requested line."""
    return create_accreditation(tenant_a, cab, "17025-C", lines=[CAL_LINE])
