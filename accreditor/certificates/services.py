"""Certificates and schedules of accreditation as PDF: snapshot, render, store, find, and who may
read them.

* :func:`issue_documents` runs in the transaction that creates a ``ScheduleVersion``
  (``decisions.services.issue_schedule``): it writes into ``version.details`` everything the two
  documents show besides the lines (CAB names and addresses, locations with codes, standard and
  edition, IB type, number, dates, the AB's identity, the verification address, the names of
  the reference terms the lines use), so a re-render years later prints what was true at issue;
  then it queues :func:`accreditor.certificates.jobs.render_documents` after commit.
* :func:`render_version` (the job's body) draws the schedule and the certificate from that
  snapshot, stores each PDF as a ``documents`` row (owner type ``schedule_version``,
  confidentiality ``public``) plus a :class:`RenderedDocument`, and audits
  ``schedule.rendered`` / ``certificate.rendered``. A kind already rendered is skipped, so the
  job is idempotent.
* :func:`current_document` is the latest issue's PDF of an accreditation. The public directory
  (``/<tenant>/directory/<number>/schedule.pdf``) is the only public way to it: it applies the
  directory's own rules (published, not past its retention, rule 27). There is no public route
  keyed by schedule id.
"""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import current_app, g
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from accreditor.certificates import layout, render
from accreditor.certificates.models import OWNER_TYPE, DocumentKind, RenderedDocument
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.jobs import enqueue_after_commit
from accreditor.core.storage import ScanStatus, get_storage
from accreditor.core.tenancy import current_tenant_id
from accreditor.documents.models import Confidentiality, Document
from accreditor.documents.services import register_owner
from accreditor.extensions import db

KINDS = (DocumentKind.schedule, DocumentKind.certificate)
# Reference lists whose names the schedule prints, by the line field that holds their codes.
TERM_FIELDS = {"discipline": "calibration_discipline", "field": None, "stage": "inspection_stage",
               "iaf_codes": "iaf_code", "food_chain": "food_chain", "md9_areas": "md9_area"}
FIELD_KIND_BY_TYPE = {"testing": "testing_field", "inspection": "inspection_field"}


# -- who may read -------------------------------------------------------------------------------


def can_view(doc: Document, membership) -> bool:
    """Staff of the tenant read every issue; a CAB user reads every issue of their own CAB
    (tenant and CAB confinement already happened in the query). Anonymous visitors go through
    the public directory, never through this rule."""
    if membership is None or not membership.is_active:
        return False
    if membership.is_staff:
        return True
    return membership.cab_id is not None and doc.cab_id == membership.cab_id


register_owner(OWNER_TYPE, can_view)


# -- the snapshot ----------------------------------------------------------------------------------


def verify_url(tenant_slug: str, number: str | None) -> str:
    """``{BASE_URL}/verify/?number=<number>&ab=<tenant>``: where the QR code lands — the
    verification page answers for today (status, accredited lines) and links to the directory
    entry and the current schedule."""
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    if not number:
        return f"{base}/{tenant_slug}/directory/"
    return f"{base}/verify/?number={quote(number, safe='')}&ab={quote(tenant_slug, safe='')}"


def _tenant():
    from accreditor.tenants.models import Tenant

    tenant = g.get("tenant")
    if tenant is not None and tenant.id == current_tenant_id():
        return tenant
    return db.session.execute(select(Tenant).where(Tenant.id == current_tenant_id())
                              ).scalar_one()


def _logo(tenant) -> dict:
    """The logo's blob and type, if the AB uploaded one (read through the tenant filter)."""
    if not tenant.logo_document_id:
        return {}
    row = db.session.execute(select(Document.sha256, Document.media_type).where(
        Document.id == tenant.logo_document_id, Document.superseded_at.is_(None))).first()
    return {"logo_sha256": row.sha256, "logo_media_type": row.media_type} if row else {}


def _term_names(scope_type: str, lines: list[dict]) -> dict:
    from accreditor.refdata import services as refdata

    wanted: dict[str, set[str]] = {}
    for line in lines:
        for name, value in (line.get("fields") or {}).items():
            kind = TERM_FIELDS.get(name, "")
            if name == "field":
                kind = FIELD_KIND_BY_TYPE.get(scope_type)
            if not kind or not value:
                continue
            values = value if isinstance(value, list) else [value]
            wanted.setdefault(kind, set()).update(str(v) for v in values)
    out = {}
    for kind, codes in wanted.items():
        known = refdata.terms(kind, active_only=False)
        out[kind] = {c: known[c].name for c in sorted(codes) if c in known}
    return out


def _ms_titles(lines: list[dict]) -> dict:
    from accreditor.refdata import services as refdata

    used = {(x.get("fields") or {}).get("standard") for x in lines} - {None, ""}
    if not used:
        return {}
    return {s.label: s.title for s in refdata.ms_standards() if s.label in used}


def snapshot(version) -> dict:
    """What the documents of ``version`` show besides its lines, as it stands now."""
    from accreditor.cabs.models import CabContact, CabLocation
    from accreditor.scopes.models import Accreditation

    acc = db.session.execute(select(Accreditation).where(
        Accreditation.id == version.accreditation_id).options(
        joinedload(Accreditation.cab), joinedload(Accreditation.programme),
        joinedload(Accreditation.edition))).scalar_one()
    cab, programme = acc.cab, acc.programme
    locations = db.session.execute(select(CabLocation).where(
        CabLocation.cab_id == cab.id).order_by(CabLocation.code)).scalars().all()
    contact = db.session.execute(select(CabContact).where(
        CabContact.cab_id == cab.id).order_by(CabContact.is_public.desc(), CabContact.id)
        .limit(1)).scalar_one_or_none()
    active = [x for x in locations if x.is_active]
    head = next((x for x in active if x.kind == "permanent"), active[0] if active else None)
    tenant = _tenant()
    lines = version.lines or []
    edition = acc.edition.edition if acc.edition is not None else ""
    # The locations of every suspension still in force (not only the one issuing this version:
    # a later partial suspension or reinstatement re-issues the schedule too).
    from accreditor.decisions.services import current_suspensions

    suspended_locations = sorted({code for d in current_suspensions(acc)
                                  for code in d.location_codes or []})
    return {
        "ab": {"name": tenant.name, "slug": tenant.slug, "address": tenant.public_address or "",
               "website": tenant.website or "", "email": tenant.public_email or "",
               **_logo(tenant)},
        "cab": {"legal_name": cab.legal_name, "trading_names": list(cab.trading_names or []),
                "address": head.address if head is not None else "",
                "country": cab.country, "website": cab.website or "",
                "contact": ({"name": contact.name, "email": contact.email or "",
                             "phone": contact.phone or ""}
                            if contact is not None and contact.is_public else {})},
        "locations": [{"code": x.code, "name": x.name, "address": x.address,
                       "country": x.country, "activities": x.activities or "",
                       "kind": x.kind, "is_critical": x.is_critical, "is_active": x.is_active}
                      for x in locations],
        "suspended_locations": suspended_locations,
        "programme": {"code": programme.code, "name": programme.name,
                      "standard": programme.standard, "scope_type": programme.scope_type},
        "standard": programme.standard,
        "edition": edition,
        "standard_label": f"{programme.standard}:{edition}" if edition else programme.standard,
        "ib_type": acc.ib_type,
        "number": acc.number,
        "status": version.status,
        "issue_no": version.issue_no,
        "issued_on": version.issued_on.isoformat(),
        "initial_grant_on": acc.initial_grant_on.isoformat() if acc.initial_grant_on else None,
        "cycle_start_on": acc.cycle_start_on.isoformat() if acc.cycle_start_on else None,
        "cycle_end_on": acc.cycle_end_on.isoformat() if acc.cycle_end_on else None,
        "expiry_on": acc.expiry_on.isoformat() if acc.expiry_on else None,
        "terms": _term_names(programme.scope_type, lines),
        "ms_titles": _ms_titles(lines),
        "verify_url": verify_url(tenant.slug, acc.number),
    }


def issue_documents(version) -> None:
    """Called in the transaction that creates a ``ScheduleVersion``: snapshot what the PDFs
    show and queue their rendering (after commit)."""
    from accreditor.certificates import jobs

    version.details = snapshot(version)
    db.session.flush()
    if not current_app.config.get("RENDER_PDFS", True):
        return  # the test suite, outside the tests of the PDFs (config.RENDER_PDFS)
    enqueue_after_commit(jobs.render_documents, current_tenant_id(), version.id,
                         job_id=f"render-documents-{current_tenant_id()}-{version.id}")


# -- rendering ------------------------------------------------------------------------------------


def _logo_bytes(details: dict) -> bytes | None:
    sha = (details.get("ab") or {}).get("logo_sha256")
    if not sha:
        return None
    try:
        with get_storage().open(sha) as fh:
            return fh.read()
    except OSError:
        current_app.logger.warning("logo blob %s missing; rendering the name only", sha)
        return None


def draw(kind: str, details: dict, lines: list[dict], *, record: bool = False):
    """(bytes, page count, pdf) of one document, from a version's snapshot and lines."""
    logo = _logo_bytes(details)
    if kind == DocumentKind.schedule:
        return render.render_schedule(layout.schedule_layout(details, lines), logo=logo,
                                      record=record)
    return render.render_certificate(layout.certificate_layout(details), logo=logo,
                                     record=record)


def file_name(kind: str, details: dict) -> str:
    number = "".join(c if c.isalnum() or c in "-." else "-" for c in details.get("number") or "")
    base = f"{kind}-{number}" if number.strip("-.") else kind
    return f"{base}-issue-{int(details.get('issue_no') or 0):03d}.pdf"


def render_version(version_id: int) -> list[RenderedDocument]:
    """Render the kinds of ``version_id`` not rendered yet (none: nothing happens); returns the
    rows written. Needs a tenant scope; the caller commits."""
    from accreditor.decisions.models import ScheduleVersion

    version = db.session.execute(select(ScheduleVersion).where(
        ScheduleVersion.id == version_id)).scalar_one_or_none()
    if version is None:
        return []
    done = set(db.session.execute(select(RenderedDocument.kind).where(
        RenderedDocument.schedule_version_id == version.id)).scalars())
    details = version.details or {}
    if not details:  # issued before this module existed: take the snapshot now
        details = snapshot(version)
    written = []
    storage = get_storage()
    for kind in KINDS:
        if kind.value in done:
            continue
        data, pages, _pdf = draw(kind, details, version.lines or [])
        sha256, size = storage.save_stream(io.BytesIO(data))
        doc = Document(cab_id=version.cab_id, sha256=sha256, size=size,
                       media_type="application/pdf", original_name=file_name(kind, details),
                       owner_type=OWNER_TYPE, owner_id=version.id,
                       confidentiality=Confidentiality.public.value,
                       scan_status=ScanStatus.not_scanned.value)
        db.session.add(doc)
        db.session.flush()
        row = RenderedDocument(cab_id=version.cab_id, accreditation_id=version.accreditation_id,
                               schedule_version_id=version.id, kind=kind.value,
                               document_id=doc.id, sha256=sha256, size=size, page_count=pages,
                               rendered_at=utcnow())
        db.session.add(row)
        db.session.flush()
        audit.record(f"{kind.value}.rendered", row, changes={
            "schedule_version_id": [None, version.id], "issue_no": [None, version.issue_no],
            "sha256": [None, sha256], "page_count": [None, pages]})
        written.append(row)
    return written


# -- finding them ----------------------------------------------------------------------------------


def documents_of(version_id: int) -> dict[str, RenderedDocument]:
    """The rendered documents of one version by kind (one query)."""
    rows = db.session.execute(select(RenderedDocument).where(
        RenderedDocument.schedule_version_id == version_id)).scalars()
    return {r.kind: r for r in rows}


def latest_version_id(accreditation_id: int) -> int | None:
    from accreditor.decisions.models import ScheduleVersion

    latest = select(func.max(ScheduleVersion.issue_no)).where(
        ScheduleVersion.accreditation_id == accreditation_id).scalar_subquery()
    return db.session.execute(select(ScheduleVersion.id).where(
        ScheduleVersion.accreditation_id == accreditation_id,
        ScheduleVersion.issue_no == latest)).scalar_one_or_none()


def current_document(accreditation_id: int, kind: str):
    """The rendered PDF (``kind`` "schedule" or "certificate") of the accreditation's latest
    schedule issue, or None while it renders or when none exists."""
    from accreditor.decisions.models import ScheduleVersion

    kind = DocumentKind(kind)
    latest = select(func.max(ScheduleVersion.issue_no)).where(
        ScheduleVersion.accreditation_id == accreditation_id).scalar_subquery()
    return db.session.execute(
        select(RenderedDocument)
        .join(ScheduleVersion, ScheduleVersion.id == RenderedDocument.schedule_version_id)
        .where(ScheduleVersion.accreditation_id == accreditation_id,
               ScheduleVersion.issue_no == latest, RenderedDocument.kind == kind.value)
    ).scalar_one_or_none()
