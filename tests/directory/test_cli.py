"""``flask directory rebuild``: republishes every accreditation, idempotently, and counts."""

from __future__ import annotations

from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.directory.models import DirectoryEntry
from accreditor.extensions import db
from tests.directory.conftest import accredited, entry_of, load_acc
from tests.factories import create_accreditation, create_cab


def test_rebuild_publishes_what_is_missing_and_leaves_the_rest(tenant_a, tenant_b, runner):
    published = accredited(tenant_a)
    unpublished = accredited(tenant_a, legal_name="Late Lab Ltd", publish=False)
    create_accreditation(tenant_a, create_cab(tenant_a, "Applicant Ltd"))  # never public
    broken = accredited(tenant_a, legal_name="Broken Lab Ltd", publish=False)
    with tenant_scope(tenant_a):
        load_acc(broken.id).initial_grant_on = None
        commit()
    theirs = accredited(tenant_b, legal_name="Bravo Lab Ltd", publish=False)
    before = entry_of(tenant_a, published.id).published_at

    result = runner.invoke(args=["directory", "rebuild", "--tenant", "alpha"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "alpha: published 1, unchanged 1, incomplete 1, not_public 1")
    assert entry_of(tenant_a, unpublished.id).legal_name == "Late Lab Ltd"
    assert entry_of(tenant_a, broken.id) is None
    assert entry_of(tenant_a, published.id).published_at == before
    assert entry_of(tenant_b, theirs.id) is None  # another tenant was not asked

    again = runner.invoke(args=["directory", "rebuild", "--tenant", "alpha"])
    assert again.output.strip() == "alpha: published 0, unchanged 2, incomplete 1, not_public 1"


def test_rebuild_of_every_tenant(tenant_a, tenant_b, runner):
    a = accredited(tenant_a, publish=False)
    b = accredited(tenant_b, publish=False)
    result = runner.invoke(args=["directory", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "alpha: published 1" in result.output and "bravo: published 1" in result.output
    assert entry_of(tenant_a, a.id) is not None and entry_of(tenant_b, b.id) is not None
    with tenant_scope(tenant_a):
        assert len(db.session.execute(select(DirectoryEntry)).scalars().all()) == 1


def test_rebuild_of_an_unknown_tenant_fails(runner):
    result = runner.invoke(args=["directory", "rebuild", "--tenant", "nope"])
    assert result.exit_code != 0 and "no tenant 'nope'" in result.output
