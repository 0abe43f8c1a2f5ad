"""Type detection from content, and names: what is accepted, what is refused and why."""

from __future__ import annotations

import io
import zipfile

import pytest

from accreditor.documents.filetypes import (
    KINDS,
    UnsupportedFileType,
    detect,
    download_name,
    sanitise_filename,
)
from tests.documents.helpers import (
    EXE,
    JPEG,
    PDF,
    PNG,
    WORD_MACRO_MAIN,
    content_types,
    office_file,
    plain_zip,
)

ALL = list(KINDS)
LIMITS = {"zip_max_uncompressed": 100 * 1024 * 1024, "zip_max_entries": 2000}


def kind_of(data: bytes, allowed=ALL, **limits) -> str:
    return detect(io.BytesIO(data), allowed=allowed, **{**LIMITS, **limits}).key


def refusal(data: bytes, allowed=ALL, **limits) -> str:
    with pytest.raises(UnsupportedFileType) as exc:
        kind_of(data, allowed, **limits)
    return exc.value.message


@pytest.mark.parametrize(("data", "expected"), [
    (PDF, "pdf"),
    (PNG, "png"),
    (JPEG, "jpeg"),
    (office_file("docx"), "docx"),
    (office_file("xlsx"), "xlsx"),
    (b"name,country,accredited\nAcme,GB,yes\nBeta,FR,no\n", "csv"),
    (b"name;country\r\nAcme;GB\r\n", "csv"),
    (b"a\tb\tc\n1\t2\t3\n", "csv"),
    ('"Legal name","Town"\n"Ünïcode Prüf GmbH","Köln, DE"\n'.encode(), "csv"),
    (b"Minutes of the opening meeting.\nAll present.\n", "txt"),
    (b"One line, with a comma.\nAnother line\n", "txt"),
    ("Prüfbericht — Übersicht\n".encode(), "txt"),
    (b"\xef\xbb\xbfText with a UTF-8 byte order mark\n", "txt"),
    (b"\xef\xbb\xbfcode,name\nA,Head office\n", "csv"),
])
def test_allowed_types_are_recognised_from_their_content(data, expected):
    assert kind_of(data) == expected


def test_a_windows_program_renamed_pdf_is_refused_naming_the_allowed_types():
    message = refusal(EXE)
    assert "Windows program" in message
    assert "Allowed types: PDF, PNG, JPEG, Word (DOCX), Excel (XLSX), CSV, plain text (TXT)" in message


@pytest.mark.parametrize("data", [
    b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    b"  \n<html><p>hi</p></html>",
    b"\xef\xbb\xbf<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
    b'<?xml version="1.0"?><note>hello</note>',
    b"Looks like text\nbut then <script>alert(document.cookie)</script>\n",
    b"name,comment\nx,<SVG onload=alert(1)>\n",
])
def test_html_svg_and_xml_are_refused(data):
    assert "HTML, SVG and XML files are not accepted" in refusal(data)


@pytest.mark.parametrize(("data", "what"), [
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 40, "program"),
    (b"#!/bin/sh\nrm -rf /\n", "script"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old-format Office"),
    (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "archive"),
])
def test_programs_scripts_archives_and_old_office_files_are_refused(data, what):
    assert what in refusal(data)


@pytest.mark.parametrize("data", [
    "Latin-1 text: caf\xe9\n".encode("latin-1"),
    "UTF-16 text\n".encode("utf-16"),
    b"text with a NUL\x00 byte\n",
    bytes(range(256)) * 4,
])
def test_binary_or_non_utf8_content_is_refused(data):
    assert "not accepted" in refusal(data)


def test_an_empty_file_is_refused():
    with pytest.raises(UnsupportedFileType) as exc:
        kind_of(b"")
    assert exc.value.code == "empty_file"
    with pytest.raises(UnsupportedFileType):
        kind_of(b"  \n\n ")


def test_a_type_left_out_of_the_allowed_list_is_refused():
    assert "PNG files are not accepted here" in refusal(PNG, allowed=["pdf"])
    assert "Allowed types: PDF." in refusal(PNG, allowed=["pdf"])


# -- Office files --------------------------------------------------------------------------------


def test_a_docx_with_a_vba_project_is_refused():
    data = office_file("docx", extra={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})
    assert "macros" in refusal(data)


def test_a_macro_enabled_content_type_is_refused_even_without_the_vba_part():
    assert "macros" in refusal(office_file("docx", main_type=WORD_MACRO_MAIN))
    xlsm = office_file("xlsx", main_type="application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    assert "macros" in refusal(xlsm)


def test_a_zip_bomb_docx_is_refused_from_its_declared_size_before_anything_is_extracted(
        monkeypatch):
    bomb = office_file("docx", big_entry=("word/media/image1.png", 2 * 1024 * 1024))
    assert len(bomb) < 20 * 1024

    def no_extraction(*args, **kwargs):
        raise AssertionError("an entry was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_extraction)
    message = refusal(bomb, zip_max_uncompressed=1024 * 1024)
    assert "would unpack to more than 1 MB" in message


def test_a_zip_bomb_docx_is_refused_with_the_default_limit():
    bomb = office_file("docx", big_entry=("word/media/image1.png", 101 * 1024 * 1024))
    assert len(bomb) < 200 * 1024
    assert "would unpack to more than 100 MB" in refusal(bomb)


def test_too_many_entries_are_refused_before_the_central_directory_is_parsed(monkeypatch):
    data = office_file("docx", extra={f"word/part{i}.xml": b"<x/>" for i in range(20)})

    def no_parsing(*args, **kwargs):
        raise AssertionError("zipfile parsed the archive")

    monkeypatch.setattr(zipfile, "ZipFile", no_parsing)
    assert "too many parts (more than 10)" in refusal(data, zip_max_entries=10)


def test_a_plain_zip_and_a_zip_without_office_parts_are_refused():
    assert "ZIP archives are not accepted" in refusal(plain_zip({"report.pdf": PDF}))
    odd = plain_zip({"[Content_Types].xml": content_types("other/x.xml", "application/xml").encode(),
                     "other/x.xml": b"<x/>"})
    assert "Only Word (DOCX) and Excel (XLSX)" in refusal(odd)


def test_a_damaged_zip_is_refused():
    data = office_file("docx")
    assert "damaged" in refusal(data[: len(data) // 2])
    assert "damaged" in refusal(b"PK\x03\x04" + b"\x00" * 100)


# -- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd\x07.pdf", "passwd.pdf"),
    ("..\\..\\Windows\\system32\\evil.pdf", "evil.pdf"),
    ("/var/www/static/x.pdf", "x.pdf"),
    ("Prüfbericht 2026 – Übersicht.pdf", "Prüfbericht 2026 – Übersicht.pdf"),
    ("报告.pdf", "报告.pdf"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override removed
    ("  .hidden.pdf  ", "hidden.pdf"),
    ('a<b>c:"d"|e?f*.pdf', "a_b_c__d__e_f_.pdf"),
    ("CON.pdf", "_CON.pdf"),
    ("..", "file"),
    ("", "file"),
    (None, "file"),
    ("tab\tand\nnewline.txt", "tabandnewline.txt"),
])
def test_names_are_sanitised(raw, clean):
    assert sanitise_filename(raw) == clean


def test_long_names_are_cut_keeping_the_extension():
    name = sanitise_filename("ä" * 500 + ".docx")
    assert len(name) == 200 and name.endswith("ä.docx")


@pytest.mark.parametrize(("name", "media_type", "expected"), [
    ("passwd.pdf", "application/pdf", "passwd.pdf"),
    ("scan.JPG", "image/jpeg", "scan.JPG"),
    ("run.bat", "text/plain", "run.bat.txt"),
    ("report.exe", "application/pdf", "report.exe.pdf"),
    ("data.csv", "text/plain", "data.csv"),
    ("noext", "text/csv", "noext.csv"),
])
def test_download_names_carry_the_detected_types_extension(name, media_type, expected):
    assert download_name(name, media_type) == expected
