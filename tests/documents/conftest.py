"""Documents: storage in a temporary directory, CABs, an upload helper and a test-only upload route.

``upload_app`` is a second app on the same database with one extra route that hands
``request.files["file"]`` to the service, so the store is tested apart from any page (the
application pages' uploads are tested in ``tests/applications/test_documents.py``). Documents
here belong to an owner type no capability registers (``OWNER``), so the default rule applies.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Blueprint, request
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from accreditor import create_app
from accreditor.cabs.models import Cab
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from tests.conftest import FreshContextClient

OWNER = "test_owner"  # registered by no capability: the default access rule applies


@pytest.fixture(autouse=True)
def storage_dir(app, tmp_path, monkeypatch) -> Path:
    root = tmp_path / "files"
    monkeypatch.setitem(app.config, "STORAGE_DIR", str(root))
    return root


def blobs(root: Path) -> list[Path]:
    """Stored blobs (not temporary files)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp")


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def make_cab(tenant, legal_name: str) -> Cab:
    with tenant_scope(tenant):
        cab = Cab(legal_name=legal_name, country="GB")
        db.session.add(cab)
        commit()
    return cab


@pytest.fixture
def cab_a(tenant_a):
    return make_cab(tenant_a, "Alpha Calibration Ltd")


@pytest.fixture
def cab_a2(tenant_a):
    return make_cab(tenant_a, "Second Testing Ltd")


@pytest.fixture
def cab_b(tenant_b):
    return make_cab(tenant_b, "Bravo Inspection Ltd")


@pytest.fixture
def upload():
    """``upload(tenant, data, filename, cab=None, **kw)`` → the committed Document."""
    from accreditor.documents.services import store_upload

    def _upload(tenant, data: bytes, filename: str = "file.pdf", cab=None, *,
                owner_type: str = OWNER, owner_id: int = 1, **kw):
        with tenant_scope(tenant):
            doc = store_upload(FileStorage(io.BytesIO(data), filename=filename),
                               owner_type=owner_type, owner_id=owner_id,
                               cab_id=cab.id if cab is not None else None, **kw)
            commit()
            return doc

    return _upload


@pytest.fixture
def audit_actions():
    """``audit_actions(tenant)``: the tenant's audit actions, oldest first."""

    def _actions(tenant) -> list[str]:
        db.session.expire_all()
        with tenant_scope(tenant):
            return list(db.session.execute(
                select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())

    return _actions


UPLOAD_LIMIT = 1024


@pytest.fixture
def upload_app(app, storage_dir):
    """A second app on the same database with ``POST /<tenant>/test-upload/<cab_id>``;
    ``UPLOAD_MAX_BYTES`` = 1 KiB and ``MAX_CONTENT_LENGTH`` = 1 KiB + 64 KiB."""
    from accreditor.documents.services import store_upload
    from accreditor.tenants.views import pull_tenant_slug, resolve_tenant

    test_app = create_app({
        **{k: app.config[k] for k in ("ENV", "SQLALCHEMY_DATABASE_URI")},
        "REDIS_URL": None, "SERVER_NAME": "localhost", "STORAGE_DIR": str(storage_dir),
        "UPLOAD_MAX_BYTES": UPLOAD_LIMIT, "MAX_CONTENT_LENGTH": UPLOAD_LIMIT + 64 * 1024,
    })
    bp = Blueprint("test_upload", __name__, url_prefix="/<tenant_slug>/test-upload")
    bp.url_value_preprocessor(pull_tenant_slug)
    bp.before_request(resolve_tenant)

    @bp.post("/<int:cab_id>")
    def upload_view(cab_id: int):
        doc = store_upload(request.files["file"], owner_type=OWNER, owner_id=1,
                           cab_id=cab_id)
        commit()
        return {"id": doc.id, "name": doc.original_name}, 201

    test_app.register_blueprint(bp)
    test_app.test_client_class = FreshContextClient
    return test_app
