"""Fixtures shared by the assessment tests: the staff who plan and decide."""

from __future__ import annotations

import pytest

from accreditor.core.permissions import Role
from tests.factories import create_member


@pytest.fixture
def manager(tenant_a):
    return create_member(tenant_a, "manager@alpha.example.org", [Role.manager],
                         name="Mia Manager")


@pytest.fixture
def decider(tenant_a):
    return create_member(tenant_a, "decider@alpha.example.org", [Role.decision_maker],
                         name="Dora Decider")
