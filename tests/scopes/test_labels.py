"""Every accreditation and line status has the words the pages show (never the raw value)."""

from accreditor.scopes import labels, views
from accreditor.scopes.models import AccreditationStatus, ItemStatus


def test_every_accreditation_status_has_a_label_for_pages_and_running_text():
    assert set(views.ACCREDITATION_STATUS_LABELS) == set(AccreditationStatus)
    assert set(labels.ACCREDITATION_STATUS_LABELS) == set(AccreditationStatus)
    assert str(views.ACCREDITATION_STATUS_LABELS[AccreditationStatus.inactive]).startswith(
        "Inactive")


def test_every_line_status_has_a_label():
    assert set(views.ITEM_STATUS_LABELS) == set(ItemStatus)
