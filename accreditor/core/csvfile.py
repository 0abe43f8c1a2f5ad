"""CSV files people open in spreadsheet programs: formula-safe cells and a UTF-8 download.

A spreadsheet runs a cell that starts with ``= + - @`` (or a tab or carriage return) as a
formula (CSV injection). Exports put a leading apostrophe before such text cells; an import of
our own files removes it again, so a round trip keeps the text.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from flask import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # spreadsheet programs then read the file as UTF-8 (µ, Ω, °C)


def formula_safe(text: str, *, is_number: Callable[[str], bool] | None = None) -> str:
    """``text`` with a leading apostrophe if a spreadsheet would run it as a formula (a number
    such as ``-5`` is left alone when ``is_number`` says so)."""
    if text.startswith(FORMULA_START) and not (is_number and is_number(text)):
        return "'" + text
    return text


def unquote_formula(text: str) -> str:
    """Undo :func:`formula_safe` on a cell read back from one of our files."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def csv_response(body: str | Iterable[str], filename: str) -> Response:
    """A CSV attachment, UTF-8 with a byte-order mark; ``body`` may be a generator (streamed)."""
    content = BOM + body if isinstance(body, str) else itertools.chain([BOM], body)
    resp = Response(content, content_type="text/csv; charset=utf-8")
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp
