"""Text for the fpdf2 documents (assessment printouts, certificates and schedules): cleaned of
control characters, measured from the font's metrics and wrapped word by word. fpdf2's own
``multi_cell`` measures a line again for every character: too slow for a 2,000-line scope."""

from __future__ import annotations

import re

PT = 25.4 / 72  # millimetres per point
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: str | None) -> str:
    """Text as fpdf2 should see it: newlines only, no tabs or other control characters."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub("", text)


class MeasuredText:
    """Mixin for an ``FPDF`` subclass: widths from the current font's metrics (each word
    measured once per font and size), one-line fitting and greedy word wrap."""

    _widths: dict[tuple[str, float, str], float]

    def width_of(self, text: str) -> float:
        cw = getattr(self.current_font, "cw", None)
        if cw is None:  # pragma: no cover - every font here is a TrueType font
            return self.get_string_width(text)
        size = self.font_size_pt * 0.001 / self.k
        return sum(cw[ord(c)] if ord(c) < len(cw) else 500 for c in text) * size

    def _word_width(self, word: str) -> float:
        """Scope lines repeat their words: measure each once per font and size."""
        if not hasattr(self, "_widths"):
            self._widths = {}
        key = (self.font_style, self.font_size_pt, word)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = self.width_of(word)
        return width

    def fit(self, text: str, width: float) -> str:
        """``text`` on one line of ``width``, cut with an ellipsis when longer."""
        if self.width_of(text) <= width:
            return text
        while text and self.width_of(text + "…") > width:
            text = text[:-1]
        return text + "…"

    def wrap(self, text: str, width: float) -> list[str]:
        """Greedy word wrap; a word wider than the line (a URL, a code list) is cut."""
        out: list[str] = []
        space = self._word_width(" ")
        for para in clean(text).split("\n"):
            line, line_w = "", 0.0
            for word in para.split(" "):
                w = self._word_width(word)
                if w > width:
                    if line:
                        out.append(line)
                        line, line_w = "", 0.0
                    chunk = ""
                    for ch in word:
                        if chunk and self.width_of(chunk + ch) > width:
                            out.append(chunk)
                            chunk = ""
                        chunk += ch
                    line, line_w = chunk, self.width_of(chunk)
                elif not line:
                    line, line_w = word, w
                elif line_w + space + w <= width:
                    line, line_w = f"{line} {word}", line_w + space + w
                else:
                    out.append(line)
                    line, line_w = word, w
            out.append(line)
        return out
