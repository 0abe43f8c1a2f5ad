"""Working-day arithmetic used by appeal and complaint deadlines."""

from datetime import date, timedelta

import pytest

from accreditor.core.workdays import add_working_days, working_days_between

THU = date(2026, 12, 3)


@pytest.mark.parametrize(("start", "n", "expected"), [
    (THU, 1, date(2026, 12, 4)),  # Friday
    (THU, 2, date(2026, 12, 7)),  # over the weekend to Monday
    (THU, 12, date(2026, 12, 21)),
    (date(2026, 12, 5), 1, date(2026, 12, 7)),  # Saturday start: Monday
    (THU, 0, THU),
])
def test_add_working_days_skips_weekends(start, n, expected):
    assert add_working_days(start, n) == expected


def test_working_days_between_matches_adding():
    for n in range(0, 30):
        assert working_days_between(THU, add_working_days(THU, n)) == n
    assert working_days_between(THU, THU - timedelta(days=3)) == 0
