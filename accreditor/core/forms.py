"""Pieces shared by the feature forms."""

from __future__ import annotations

from collections.abc import Iterable


def drop_invalid_filters(form, names: Iterable[str], *, say_why: bool = False) -> None:
    """Validate a GET filter form; a filter with an unknown value (an old or edited link) is
    dropped, the others still apply — a list page never fails on its filters. With ``say_why``
    the field keeps its error, so the page can tell what was ignored."""
    if form.validate():
        return
    for name in names:
        field = getattr(form, name)
        if field.errors:
            field.data = None
            if not say_why:
                field.errors = []
