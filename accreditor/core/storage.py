"""File storage: content-addressed blobs behind a small backend interface, and the scan hook.

A backend stores bytes under their SHA-256, never under a name a user chose. Uploads are
streamed to a temporary file in fixed-size chunks while being hashed and counted, so memory does
not grow with the file; the size limit is enforced while streaming (exactly ``max_bytes`` is
accepted, one byte more raises :class:`FileTooLarge` and nothing is kept). The caller may inspect
the received bytes (type detection) before they are kept::

    with storage.receive(stream, max_bytes=limit) as pending:
        kind = detect(pending.open())      # raises → the temporary file is removed
        storage.keep(pending)              # atomic move into place; same content stored once

or, when nothing needs checking, ``sha256, size = storage.save_stream(stream)``.

:class:`LocalStorage` (the default) keeps ``<STORAGE_DIR>/ab/cd/<sha256>``; ``STORAGE_DIR``
defaults to ``instance/files`` and must not be inside ``static/``. The blobs of documents are
never deleted (documents are superseded, not deleted; the same blob may back several
documents). The one deleter is the open-data exports' prune
(``accreditor.directory.exports.prune_superseded``, run by the periodic job): it deletes a
superseded export file's blob some time after it was replaced, only if no current export record
and no document refers to the same bytes. Any other blob whose transaction rolled back stays as
an unreferenced orphan, harmless and collectable.
Shared object storage for several web nodes is another :class:`StorageBackend`, not a code change
in the features.

**Scanning.** ``SCANNER`` names a callable as ``"package.module:function"`` (empty: no
scanning; documents are ``not_scanned`` and downloadable). It is called once per upload, after
the blob is kept, as ``scanner(fileobj, *, sha256, media_type)`` and returns ``"clean"``,
``"infected"`` or ``"pending"`` (an asynchronous scanner that reports later through
``accreditor.documents.services.record_scan_result``). A scanner that raises leaves the document
``pending`` — fail closed: pending and infected documents are not downloadable. A ClamAV
scanner is a few lines over clamd's ``INSTREAM`` command (Debian package ``clamav-daemon``).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app
from flask_babel import gettext as _

from accreditor.core.errors import DomainError

CHUNK_SIZE = 64 * 1024
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

log = logging.getLogger("accreditor.storage")


class FileTooLarge(DomainError):
    """The upload is larger than the limit; nothing was stored."""

    status = 413
    code = "file_too_large"


class ScanStatus(StrEnum):
    not_scanned = "not_scanned"  # no scanner configured
    pending = "pending"
    clean = "clean"
    infected = "infected"


def format_size(n: int) -> str:
    """Bytes for people: ``25 MB``, ``300 KB``, ``12 bytes`` (binary multiples)."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= factor:
            value = n / factor
            return f"{value:.0f} {unit}" if value.is_integer() else f"{value:.1f} {unit}"
    return f"{n} bytes"


def too_large_message(limit: int) -> str:
    return _("The file is larger than the %(limit)s limit. Nothing was stored.",
             limit=format_size(limit))


class PendingFile:
    """Bytes received into a temporary file, hashed and counted, not yet kept."""

    def __init__(self, path: Path, sha256: str, size: int):
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.kept = False

    def open(self) -> BinaryIO:
        return open(self.path, "rb")  # noqa: SIM115 - the caller closes it

    def discard(self) -> None:
        if not self.kept:
            self.path.unlink(missing_ok=True)


class StorageBackend(ABC):
    """Where blobs live. Subclasses implement :meth:`keep`, :meth:`open` and :meth:`exists`."""

    #: Directory for temporary files while receiving (None: the system's temp directory).
    spool_dir: Path | None = None

    def save_stream(self, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[str, int]:
        """Stream ``stream`` into storage; return ``(sha256, size)``. Raises FileTooLarge."""
        with self.receive(stream, max_bytes=max_bytes) as pending:
            self.keep(pending)
            return pending.sha256, pending.size

    @contextmanager
    def receive(self, stream: BinaryIO, *, max_bytes: int | None = None) -> Iterator[PendingFile]:
        """Spool ``stream`` to a temporary file in chunks while hashing; the file is removed on
        leaving the block unless :meth:`keep` took it. Raises FileTooLarge past ``max_bytes``."""
        if self.spool_dir is not None:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", dir=self.spool_dir)
        pending = PendingFile(Path(name), "", 0)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise FileTooLarge(too_large_message(max_bytes))
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            pending.sha256, pending.size = digest.hexdigest(), size
            yield pending
        finally:
            pending.discard()

    @abstractmethod
    def keep(self, pending: PendingFile) -> bool:
        """Move received bytes into place atomically; False when the content was already stored."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """A binary file object for reading the blob (the caller closes it)."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...


def _check_sha256(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


class LocalStorage(StorageBackend):
    """Blobs in a local directory as ``ab/cd/<sha256>``; temporary files in ``<root>/tmp`` (same
    file system, so the final move is an atomic rename)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.spool_dir = self.root / "tmp"

    def path_for(self, sha256: str) -> Path:
        _check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def keep(self, pending: PendingFile) -> bool:
        target = self.path_for(pending.sha256)
        if target.exists():
            pending.discard()  # same bytes already stored: keep one copy
            pending.kept = True
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        # Two concurrent uploads of the same bytes both rename: identical content, no harm.
        os.replace(pending.path, target)
        pending.kept = True
        try:
            dir_fd = os.open(target.parent, os.O_RDONLY)
        except OSError:  # pragma: no cover - platforms without directory fds
            return True
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return True

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path_for(sha256), "rb")  # noqa: SIM115 - the caller closes it

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()


def storage_root(app=None) -> Path:
    """``STORAGE_DIR`` (relative paths are under the instance folder), refused inside static/."""
    app = app or current_app
    raw = app.config.get("STORAGE_DIR") or "files"
    root = Path(raw)
    if not root.is_absolute():
        root = Path(app.instance_path) / root
    root = root.resolve()
    if app.static_folder and root.is_relative_to(Path(app.static_folder).resolve()):
        from accreditor.config import ConfigError

        raise ConfigError(f"STORAGE_DIR {root} is inside static/; uploads must not be web-served")
    return root


def get_storage(app=None) -> StorageBackend:
    """The configured backend (built per call: cheap, and follows config changes in tests)."""
    return LocalStorage(storage_root(app))


# -- scanning ----------------------------------------------------------------------------------


class Scanner(Protocol):
    def __call__(self, fileobj: BinaryIO, *, sha256: str, media_type: str) -> str: ...


def load_scanner(spec: str | None) -> Scanner | None:
    """``"package.module:function"`` → the callable; empty → None. Raises ConfigError."""
    from accreditor.config import ConfigError

    if not spec:
        return None
    module_name, _sep, attr = spec.partition(":")
    try:
        fn: Callable = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"SCANNER {spec!r} is not an importable 'module:function' ({exc})") from exc
    if not callable(fn):
        raise ConfigError(f"SCANNER {spec!r} is not callable")
    return fn


def scan(storage: StorageBackend, sha256: str, *, media_type: str) -> ScanStatus:
    """Run the configured scanner on a stored blob; ``pending`` if it fails (fail closed)."""
    scanner = load_scanner(current_app.config.get("SCANNER"))
    if scanner is None:
        return ScanStatus.not_scanned
    try:
        with storage.open(sha256) as fileobj:
            status = ScanStatus(scanner(fileobj, sha256=sha256, media_type=media_type))
    except Exception:
        log.exception("scanner failed; the document stays pending", extra={"sha256": sha256})
        return ScanStatus.pending
    return ScanStatus.pending if status == ScanStatus.not_scanned else status


def check_config(app) -> None:
    """At start-up: the request limit leaves room for one upload, the scanner imports, and the
    storage directory is not web-served. Raises ConfigError."""
    from accreditor.config import ConfigError

    limit, request_max = app.config.get("UPLOAD_MAX_BYTES"), app.config.get("MAX_CONTENT_LENGTH")
    if limit and request_max is not None and request_max < limit + 64 * 1024:
        raise ConfigError(
            f"MAX_CONTENT_LENGTH ({request_max}) must exceed UPLOAD_MAX_BYTES ({limit}) by the "
            "form's overhead (at least 64 KiB; the default leaves 1 MiB)"
        )
    load_scanner(app.config.get("SCANNER"))
    storage_root(app)
