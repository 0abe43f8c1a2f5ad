"""File builders, a temporary storage directory and fake scanners for the document tests.

``temporary_storage`` is the ``storage_dir`` fixture, autouse where it is imported: a test module
that uploads files imports it (``from tests.documents.helpers import temporary_storage``) and
then checks ``stored_files(storage_dir)``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20 + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


@pytest.fixture(name="storage_dir", autouse=True)
def temporary_storage(app, tmp_path, monkeypatch) -> Path:
    """Uploads of this test go to a fresh directory, returned."""
    root = tmp_path / "files"
    monkeypatch.setitem(app.config, "STORAGE_DIR", str(root))
    return root


def stored_files(root: Path) -> list[Path]:
    """Every file under the storage root: kept blobs and any temporary file left behind."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
WORD_MACRO_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"


def content_types(part: str, content_type: str, extra: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{content_type}"/>{extra}</Types>'
    )


def office_file(kind: str = "docx", *, main_type: str | None = None,
                extra: dict[str, bytes] | None = None, content_types_xml: str | None = None,
                big_entry: tuple[str, int] | None = None) -> bytes:
    """A minimal DOCX/XLSX; ``big_entry`` = (name, n zero bytes) written in chunks."""
    part = "word/document.xml" if kind == "docx" else "xl/workbook.xml"
    main_type = main_type or (WORD_MAIN if kind == "docx" else EXCEL_MAIN)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", content_types_xml or content_types(part, main_type))
        zf.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        zf.writestr(part, '<?xml version="1.0"?><document>Scope of accreditation</document>')
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
        if big_entry:
            name, n = big_entry
            with zf.open(name, "w", force_zip64=False) as out:
                block = b"\x00" * (1 << 20)
                for _ in range(n // len(block)):
                    out.write(block)
                out.write(b"\x00" * (n % len(block)))
    return buf.getvalue()


def plain_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


# -- scanners named by SCANNER in tests (``tests.documents.helpers:<name>``) -------------------

scanned: list[tuple[str, str, int]] = []


def clean_scanner(fileobj, *, sha256: str, media_type: str) -> str:
    scanned.append((sha256, media_type, len(fileobj.read())))
    return "clean"


def infected_scanner(fileobj, *, sha256: str, media_type: str) -> str:
    return "infected"


def async_scanner(fileobj, *, sha256: str, media_type: str) -> str:
    return "pending"


def broken_scanner(fileobj, *, sha256: str, media_type: str) -> str:
    raise ConnectionRefusedError("clamd is not running")
