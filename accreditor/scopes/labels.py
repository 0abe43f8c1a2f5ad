"""Labels of accreditation statuses for running text and filters (lower case: "3 accredited")."""

from flask_babel import lazy_gettext as _l

from accreditor.scopes.models import AccreditationStatus

ACCREDITATION_STATUS_LABELS = {
    AccreditationStatus.applicant: _l("applicant"),
    AccreditationStatus.accredited: _l("accredited"),
    AccreditationStatus.partially_suspended: _l("partially suspended"),
    AccreditationStatus.suspended: _l("suspended"),
    AccreditationStatus.withdrawn: _l("withdrawn"),
    AccreditationStatus.voluntarily_withdrawn: _l("voluntarily withdrawn"),
    AccreditationStatus.expired: _l("expired"),
    AccreditationStatus.refused: _l("refused"),
    AccreditationStatus.lapsed: _l("lapsed"),
    AccreditationStatus.inactive: _l("inactive"),
}
