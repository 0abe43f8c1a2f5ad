"""Printable assessment plans and reports, HTML and PDF (under /<tenant>/print).

Staff (every AB staff role) read both documents at any stage; a plan not yet sent to the CAB
and a report not yet issued are marked as drafts. A CAB user reads the plan of their own CAB's
assessment once the team has been proposed, and the report once it is issued; anything else —
a draft, another CAB's or another tenant's assessment — is a 404. Neither document ever shows
the AB's internal notes (``printing`` cannot read them). Reading is not audited.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Blueprint, Response, g, render_template, url_for

from accreditor.assessments import printing
from accreditor.core.permissions import staff_only_or_404
from accreditor.portal.views import cab_user_only

bp = Blueprint("assessment_print", __name__, url_prefix="/print")

NO_STORE = "private, no-store"
# Chrome shows an inline PDF through an <embed> in a page of its own, which the app's CSP
# (object-src 'none', style-src 'self') would blank out; the PDF carries no scripts of ours.
PDF_CSP = "frame-ancestors 'none'"


def staff_reader(view: Callable) -> Callable:
    """Any AB staff role; CAB users and outsiders get 404, as on the assessment pages."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        staff_only_or_404()  # every staff role reads; a CAB user learns nothing here
        return view(*args, **kwargs)

    return wrapped


def _back_url(assessment_id: int, *, portal: bool, tab: str) -> str:
    """The assessment's page: staff's, or the portal's."""
    if portal:
        return url_for("tenant.cab_assessments.show", assessment_id=assessment_id)
    return url_for("tenant.assessments.show", assessment_id=assessment_id, tab=tab)


def _html(template: str, data, *, portal: bool, pdf_url: str) -> Response:
    tab = "report" if isinstance(data, printing.ReportData) else "plan"
    resp = Response(render_template(
        template, d=data, portal=portal, pdf_url=pdf_url, tenant=g.tenant,
        back_url=_back_url(data.assessment_id, portal=portal, tab=tab),
        no_findings=printing.no_findings_text()))
    resp.headers["Cache-Control"] = NO_STORE
    return resp


def _pdf(content: bytes, filename: str) -> Response:
    resp = Response(content, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    resp.headers["Cache-Control"] = NO_STORE
    resp.headers["Content-Security-Policy"] = PDF_CSP
    return resp


# -- staff --------------------------------------------------------------------------------------


@bp.get("/assessments/<int:assessment_id>/plan")
@staff_reader
def plan(assessment_id: int):
    data = printing.plan_data(assessment_id, for_cab=False)
    return _html("assessments/print/plan.html", data, portal=False,
                 pdf_url=url_for(".plan_pdf", assessment_id=assessment_id))


@bp.get("/assessments/<int:assessment_id>/plan.pdf")
@staff_reader
def plan_pdf(assessment_id: int):
    data = printing.plan_data(assessment_id, for_cab=False)
    return _pdf(printing.plan_pdf(data), printing.pdf_filename("plan", data))


@bp.get("/assessments/<int:assessment_id>/report")
@staff_reader
def report(assessment_id: int):
    data = printing.report_data(assessment_id, for_cab=False)
    return _html("assessments/print/report.html", data, portal=False,
                 pdf_url=url_for(".report_pdf", assessment_id=assessment_id))


@bp.get("/assessments/<int:assessment_id>/report.pdf")
@staff_reader
def report_pdf(assessment_id: int):
    data = printing.report_data(assessment_id, for_cab=False)
    return _pdf(printing.report_pdf(data), printing.pdf_filename("report", data))


# -- the CAB portal -----------------------------------------------------------------------------


@bp.get("/portal/assessments/<int:assessment_id>/plan")
@cab_user_only
def portal_plan(assessment_id: int):
    data = printing.plan_data(assessment_id, for_cab=True)
    return _html("assessments/print/plan.html", data, portal=True,
                 pdf_url=url_for(".portal_plan_pdf", assessment_id=assessment_id))


@bp.get("/portal/assessments/<int:assessment_id>/plan.pdf")
@cab_user_only
def portal_plan_pdf(assessment_id: int):
    data = printing.plan_data(assessment_id, for_cab=True)
    return _pdf(printing.plan_pdf(data), printing.pdf_filename("plan", data))


@bp.get("/portal/assessments/<int:assessment_id>/report")
@cab_user_only
def portal_report(assessment_id: int):
    data = printing.report_data(assessment_id, for_cab=True)
    return _html("assessments/print/report.html", data, portal=True,
                 pdf_url=url_for(".portal_report_pdf", assessment_id=assessment_id))


@bp.get("/portal/assessments/<int:assessment_id>/report.pdf")
@cab_user_only
def portal_report_pdf(assessment_id: int):
    data = printing.report_data(assessment_id, for_cab=True)
    return _pdf(printing.report_pdf(data), printing.pdf_filename("report", data))
