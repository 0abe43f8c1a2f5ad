"""The storage layer: streaming, the size limit, content addressing, dedupe and the scan hook."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from accreditor.config import ConfigError
from accreditor.core.storage import (
    CHUNK_SIZE,
    FileTooLarge,
    LocalStorage,
    ScanStatus,
    check_config,
    format_size,
    get_storage,
    storage_root,
)
from accreditor.core.tenancy import tenant_scope
from accreditor.documents.models import Document
from accreditor.extensions import db
from tests.documents.conftest import all_files, blobs
from tests.documents.helpers import PDF, scanned


class ChunkCheckingStream(io.BytesIO):
    """Fails if the storage layer asks for more than one chunk at a time."""

    def read(self, size=-1):
        assert 0 < size <= CHUNK_SIZE, f"read({size}) is not a bounded chunk"
        return super().read(size)


def test_save_stream_hashes_while_streaming_in_bounded_chunks(tmp_path):
    data = b"x" * (3 * CHUNK_SIZE + 17)
    storage = LocalStorage(tmp_path)
    sha256, size = storage.save_stream(ChunkCheckingStream(data))
    assert (sha256, size) == (hashlib.sha256(data).hexdigest(), len(data))
    path = storage.path_for(sha256)
    assert path == tmp_path / sha256[:2] / sha256[2:4] / sha256
    assert path.read_bytes() == data
    with storage.open(sha256) as f:
        assert f.read() == data
    assert list((tmp_path / "tmp").iterdir()) == []  # no temporary file left behind


def test_exactly_the_limit_is_accepted_and_one_byte_more_is_refused_keeping_nothing(tmp_path):
    storage = LocalStorage(tmp_path)
    sha256, size = storage.save_stream(io.BytesIO(b"a" * 1000), max_bytes=1000)
    assert size == 1000 and storage.exists(sha256)
    with pytest.raises(FileTooLarge) as exc:
        storage.save_stream(io.BytesIO(b"b" * 1001), max_bytes=1000)
    assert exc.value.status == 413
    assert "larger than the 1000 bytes limit" in exc.value.message
    assert not storage.exists(hashlib.sha256(b"b" * 1001).hexdigest())
    assert [p.name for p in all_files(tmp_path)] == [sha256]


def test_the_same_content_is_stored_once(tmp_path):
    storage = LocalStorage(tmp_path)
    first = storage.save_stream(io.BytesIO(b"same bytes"))
    second = storage.save_stream(io.BytesIO(b"same bytes"))
    assert first == second
    assert len(all_files(tmp_path)) == 1


def test_open_refuses_anything_but_a_sha256(tmp_path):
    storage = LocalStorage(tmp_path)
    for bad in ("../../etc/passwd", "AB" * 32, "a" * 63, ""):
        with pytest.raises(ValueError):
            storage.open(bad)


def test_a_refused_upload_stores_nothing_and_records_nothing(app, tenant_a, cab_a, upload,
                                                             storage_dir, monkeypatch,
                                                             audit_actions):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", len(PDF))
    doc = upload(tenant_a, PDF, "exact.pdf", cab_a)
    assert doc.size == len(PDF)
    before = audit_actions(tenant_a)
    with pytest.raises(FileTooLarge):
        upload(tenant_a, PDF + b"\n", "one-more.pdf", cab_a)
    db.session.rollback()
    assert [p.name for p in all_files(storage_dir)] == [doc.sha256]
    with tenant_scope(tenant_a):
        assert db.session.execute(select(func.count(Document.id))).scalar_one() == 1
    assert audit_actions(tenant_a) == before


def test_two_documents_with_the_same_content_share_one_file(tenant_a, cab_a, upload, storage_dir):
    one = upload(tenant_a, PDF, "first.pdf", cab_a)
    two = upload(tenant_a, PDF, "second copy.pdf", cab_a, owner_id=2)
    assert one.id != two.id and one.sha256 == two.sha256
    assert blobs(storage_dir) == [get_storage().path_for(one.sha256)]


def test_storage_defaults_to_the_instance_folder_and_refuses_static(app, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_DIR", "files")
    assert storage_root(app) == Path(app.instance_path).resolve() / "files"
    monkeypatch.setitem(app.config, "STORAGE_DIR", app.static_folder + "/uploads")
    with pytest.raises(ConfigError, match="inside static"):
        check_config(app)


def test_the_request_limit_must_leave_room_for_one_upload(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", app.config["UPLOAD_MAX_BYTES"])
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH"):
        check_config(app)


def test_defaults_are_25_mib_per_file_and_a_larger_request_limit():
    from accreditor.config import Config

    assert Config.UPLOAD_MAX_BYTES == 25 * 1024 * 1024
    assert Config.MAX_CONTENT_LENGTH >= Config.UPLOAD_MAX_BYTES + 64 * 1024
    assert Config.STORAGE_DIR.endswith("instance/files")
    assert format_size(Config.UPLOAD_MAX_BYTES) == "25 MB"


# -- scanning ------------------------------------------------------------------------------------


def test_without_a_scanner_documents_are_not_scanned(tenant_a, cab_a, upload):
    assert upload(tenant_a, PDF, "a.pdf", cab_a).scan_status == ScanStatus.not_scanned


@pytest.mark.parametrize(("scanner", "status"), [
    ("clean_scanner", ScanStatus.clean),
    ("infected_scanner", ScanStatus.infected),
    ("async_scanner", ScanStatus.pending),
    ("broken_scanner", ScanStatus.pending),  # fail closed
])
def test_the_scanner_hook_sets_the_scan_status(app, tenant_a, cab_a, upload, monkeypatch,
                                               scanner, status):
    monkeypatch.setitem(app.config, "SCANNER", f"tests.documents.helpers:{scanner}")
    scanned.clear()
    doc = upload(tenant_a, PDF, "a.pdf", cab_a)
    assert doc.scan_status == status
    if scanner == "clean_scanner":
        assert scanned == [(doc.sha256, "application/pdf", len(PDF))]


def test_a_scanner_that_cannot_be_imported_stops_the_app_at_start(app, monkeypatch):
    monkeypatch.setitem(app.config, "SCANNER", "no.such.module:scan")
    with pytest.raises(ConfigError, match="SCANNER"):
        check_config(app)
