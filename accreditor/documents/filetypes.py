"""What an uploaded file is, decided from its bytes — never from its name or the browser's type.

A small signature table (PDF, PNG, JPEG), a ZIP inspection for Office files (DOCX, XLSX) that
reads only the end-of-central-directory record and ``[Content_Types].xml`` — the declared entry
count and uncompressed total are checked *before* anything is decompressed, and macro-enabled
content is refused — and a streaming UTF-8 check for CSV and plain text (no NUL bytes, no
markup). Everything else, HTML, SVG and XML included, is refused with :class:`UnsupportedFileType`
naming the allowed types. Also here: the sanitised display name and the download name.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import gettext as _

from accreditor.core.errors import DomainError

CHUNK_SIZE = 64 * 1024
TEXT_SAMPLE_CHARS = 64 * 1024
CONTENT_TYPES_MAX_BYTES = 1024 * 1024
# Central-directory bytes allowed per declared entry: bounds what zipfile parses even if the
# end record lies about the count (Office entry names are short).
CD_BYTES_PER_ENTRY = 300


class UnsupportedFileType(DomainError):
    """The file's content is not one of the allowed types (or is unsafe: macros, markup, bombs)."""

    status = 400
    code = "unsupported_file_type"


@dataclass(frozen=True)
class FileKind:
    key: str
    label: str
    media_type: str
    extensions: tuple[str, ...]  # first one is added to download names that lack any of them

    @property
    def is_text(self) -> bool:
        return self.media_type.startswith("text/")


KINDS: dict[str, FileKind] = {
    k.key: k
    for k in (
        FileKind("pdf", "PDF", "application/pdf", ("pdf",)),
        FileKind("png", "PNG", "image/png", ("png",)),
        FileKind("jpeg", "JPEG", "image/jpeg", ("jpg", "jpeg")),
        FileKind("docx", "Word (DOCX)",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 ("docx",)),
        FileKind("xlsx", "Excel (XLSX)",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",)),
        FileKind("csv", "CSV", "text/csv", ("csv", "tsv", "txt")),
        FileKind("txt", "plain text (TXT)", "text/plain", ("txt", "text", "csv", "log", "md")),
    )
}
_BY_MEDIA_TYPE = {k.media_type: k for k in KINDS.values()}

# Recognised only to say what was refused.
_REFUSED_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
    (b"\xcf\xfa\xed\xfe", "a program"),
    (b"\xce\xfa\xed\xfe", "a program"),
    (b"\xca\xfe\xba\xbe", "a program"),
    (b"#!", "a script"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-format Office file (save it as DOCX or XLSX)"),
    (b"Rar!", "an archive"),
    (b"7z\xbc\xaf\x27\x1c", "an archive"),
    (b"\x1f\x8b", "an archive"),
)
_MARKUP_RE = re.compile(
    r"<\s*(?:!doctype|\?xml|html|head|body|script|svg|iframe|frame|object|embed|meta|style|"
    r"link|img|form|math|xml|xsl)\b",
    re.IGNORECASE,
)


def kind_for_media_type(media_type: str) -> FileKind | None:
    return _BY_MEDIA_TYPE.get(media_type)


def allowed_labels(allowed: Iterable[str]) -> str:
    return ", ".join(KINDS[k].label for k in allowed if k in KINDS)


def _refuse(reason: str, allowed: Iterable[str]) -> UnsupportedFileType:
    return UnsupportedFileType(
        _("%(reason)s Allowed types: %(allowed)s.", reason=reason, allowed=allowed_labels(allowed)),
        field="file",
    )


def detect(fileobj: BinaryIO, *, allowed: Iterable[str], zip_max_uncompressed: int,
           zip_max_entries: int) -> FileKind:
    """The kind of the (seekable) file, from its content; raises UnsupportedFileType."""
    allowed = [k for k in allowed if k in KINDS]
    fileobj.seek(0)
    head = fileobj.read(4096)
    fileobj.seek(0)
    if not head:
        raise UnsupportedFileType(_("The file is empty."), code="empty_file", field="file")
    kind: FileKind | None
    if head.startswith(b"%PDF-"):
        kind = KINDS["pdf"]
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = KINDS["png"]
    elif head.startswith(b"\xff\xd8\xff"):
        kind = KINDS["jpeg"]
    elif head.startswith(b"PK\x03\x04"):
        kind = _office_kind(fileobj, allowed, zip_max_uncompressed, zip_max_entries)
    else:
        for signature, what in _REFUSED_SIGNATURES:
            if head.startswith(signature):
                raise _refuse(_("This file is %(what)s, which is not accepted.", what=what),
                              allowed)
        kind = _text_kind(fileobj, allowed)
    if kind is None:
        raise _refuse(_("This type of file is not accepted (text files must be UTF-8)."), allowed)
    if kind.key not in allowed:
        raise _refuse(_("%(kind)s files are not accepted here.", kind=kind.label), allowed)
    return kind


# -- Office (ZIP) --------------------------------------------------------------------------------


def _end_of_central_directory(fileobj: BinaryIO) -> tuple[int, int] | None:
    """(declared entry count, central directory size) from the EOCD record, or None."""
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    tail_len = min(size, 22 + 0xFFFF)  # the record plus the longest possible comment
    fileobj.seek(size - tail_len)
    tail = fileobj.read(tail_len)
    fileobj.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    _sig, _disk, _cd_disk, _n_disk, n_total, cd_size, _cd_off, _clen = struct.unpack(
        "<IHHHHIIH", tail[at:at + 22])
    return n_total, cd_size


def _office_kind(fileobj: BinaryIO, allowed: list[str], max_uncompressed: int,
                 max_entries: int) -> FileKind:
    eocd = _end_of_central_directory(fileobj)
    if eocd is None:
        raise _refuse(_("This ZIP file is damaged."), allowed)
    n_total, cd_size = eocd
    # ZIP64 markers (0xFFFF / 0xFFFFFFFF) also land here: no Office document needs them.
    if n_total > max_entries or cd_size > max_entries * CD_BYTES_PER_ENTRY:
        raise _refuse(_("This document has too many parts (more than %(n)d).", n=max_entries),
                      allowed)
    try:
        with zipfile.ZipFile(fileobj) as zf:
            infos = zf.infolist()
            if len(infos) > max_entries:
                raise _refuse(_("This document has too many parts (more than %(n)d).",
                                n=max_entries), allowed)
            if sum(i.file_size for i in infos) > max_uncompressed:
                raise _refuse(_("This document would unpack to more than %(limit)s.",
                                limit=_mb(max_uncompressed)), allowed)
            by_lower = {i.filename.lower(): i for i in infos}
            if any(n.rsplit("/", 1)[-1] == "vbaproject.bin" for n in by_lower):
                raise _macro(allowed)
            ct_info = by_lower.get("[content_types].xml")
            if ct_info is None:
                raise _refuse(_("ZIP archives are not accepted."), allowed)
            if ct_info.file_size > CONTENT_TYPES_MAX_BYTES:
                raise _refuse(_("This document is malformed."), allowed)
            with zf.open(ct_info) as f:
                content_types = f.read(CONTENT_TYPES_MAX_BYTES + 1).lower()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError,
            zlib.error, EOFError, OSError, ValueError) as exc:
        raise _refuse(_("This ZIP file is damaged or encrypted."), allowed) from exc
    if b"macroenabled" in content_types or b"vbaproject" in content_types:
        raise _macro(allowed)
    names = by_lower.keys()
    if (any(n.startswith("word/") for n in names)
            and b"wordprocessingml.document.main+xml" in content_types):
        return KINDS["docx"]
    if any(n.startswith("xl/") for n in names) and b"spreadsheetml.sheet.main+xml" in content_types:
        return KINDS["xlsx"]
    raise _refuse(_("Only Word (DOCX) and Excel (XLSX) documents are accepted among ZIP-based "
                    "files."), allowed)


def _macro(allowed) -> UnsupportedFileType:
    return _refuse(_("Documents with macros are not accepted; save it as a macro-free DOCX or "
                     "XLSX."), allowed)


def _mb(n: int) -> str:
    from accreditor.core.storage import format_size

    return format_size(n)


# -- text ----------------------------------------------------------------------------------------


def _text_kind(fileobj: BinaryIO, allowed: list[str]) -> FileKind | None:
    """CSV or TXT when the whole file is UTF-8 (BOM allowed) without NUL bytes; None otherwise.
    Reads in chunks; keeps only a sample for the markup and CSV checks."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    sample: list[str] = []
    sampled = 0
    fileobj.seek(0)
    try:
        while chunk := fileobj.read(CHUNK_SIZE):
            if b"\x00" in chunk:
                return None
            text = decoder.decode(chunk)
            if sampled < TEXT_SAMPLE_CHARS:
                sample.append(text[:TEXT_SAMPLE_CHARS - sampled])
                sampled += len(sample[-1])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    finally:
        fileobj.seek(0)
    text = "".join(sample)
    if text.lstrip().startswith("<") or _MARKUP_RE.search(text):
        raise _refuse(_("HTML, SVG and XML files are not accepted."), allowed)
    if not text.strip():
        raise UnsupportedFileType(_("The file is empty."), code="empty_file", field="file")
    return KINDS["csv"] if _looks_like_csv(text, complete=sampled < TEXT_SAMPLE_CHARS) \
        else KINDS["txt"]


def _looks_like_csv(text: str, *, complete: bool) -> bool:
    """At least two rows, all with the same number (≥ 2) of fields for one delimiter."""
    if not complete and "\n" in text:
        text = text[: text.rfind("\n")]  # the sample may end mid-row
    dialects: list[type[csv.Dialect] | csv.Dialect] = []
    with contextlib.suppress(csv.Error):
        dialects.append(csv.Sniffer().sniff(text[:16384], delimiters=",;\t|"))
    for delimiter in (",", ";", "\t", "|"):
        if delimiter in text:
            dialects.append(_with_delimiter(delimiter))
    for dialect in dialects:
        try:
            rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(f.strip() for f in r)]
        except csv.Error:
            continue
        widths = {len(r) for r in rows}
        if len(rows) >= 2 and len(widths) == 1 and widths.pop() >= 2:
            return True
    return False


def _with_delimiter(delimiter: str) -> type[csv.Dialect]:
    return type("D", (csv.excel,), {"delimiter": delimiter})


# -- names ---------------------------------------------------------------------------------------

_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                     *(f"lpt{i}" for i in range(1, 10))}
MAX_NAME_LENGTH = 200


def sanitise_filename(name: str | None, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """A display name from what the browser sent: no directory parts, no control or format
    characters (bidi overrides included), no characters Windows refuses, no leading dots,
    bounded length; unicode letters are kept. Never used as a path on disk."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.split(".")[0].lower() in _WINDOWS_RESERVED:
        stem = "_" + stem
    if len(stem) + len(dot) + len(ext) > max_length:
        ext = ext[:16]
        stem = stem[: max_length - len(dot) - len(ext)].rstrip(" .")
    name = f"{stem}{dot}{ext}" if stem else ext
    return name or "file"


def download_name(original_name: str, media_type: str) -> str:
    """The stored name, with the detected type's extension added when the name lacks a matching
    one (so ``run.bat`` holding text downloads as ``run.bat.txt`` and never runs)."""
    kind = kind_for_media_type(media_type)
    name = original_name or "file"
    if kind is None:
        return name
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    return name if ext in kind.extensions else f"{name}.{kind.extensions[0]}"
