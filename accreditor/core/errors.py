"""Domain errors raised by services, and the handlers that turn them and HTTP errors into pages."""

from __future__ import annotations

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule refused the action. ``code`` is stable (for the API); ``message`` is for people."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class ValidationFailed(DomainError):
    status = 400
    code = "validation_failed"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


def put_error(form, exc: DomainError) -> bool:
    """Put a service's refusal beside the form field it names (``exc.field``). False when
    there is no form or it has no such field: the caller then shows ``exc.message`` at the
    top of the form or page."""
    target = getattr(form, exc.field or "", None) if form is not None else None
    if target is None or not hasattr(target, "errors"):
        return False
    if not isinstance(target.errors, list):
        target.errors = list(target.errors)
    target.errors.append(exc.message)
    return True


def show_error(form, exc: DomainError) -> None:
    """Put a service's refusal beside the field it names, or above the form otherwise."""
    if not put_error(form, exc):
        form.form_errors.append(exc.message)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def _error_page(status: int, title: str, message: str):
    if _wants_json():
        body = {"error": {"code": _HTTP_CODES.get(status, "error"), "message": message}}
        if g.get("request_id"):
            body["error"]["request_id"] = g.request_id
        return jsonify(body), status
    return (
        render_template("errors/error.html", status=status, title=title, message=message),
        status,
    )


_HTTP_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
    500: "internal_error",
}


def _too_large_message() -> str:
    from flask import current_app

    from accreditor.core.storage import format_size

    limit = current_app.config.get("UPLOAD_MAX_BYTES")
    if not limit:
        return _("The upload is larger than the allowed limit. Nothing was stored.")
    return _("The upload is larger than the allowed limit of %(limit)s per file. Nothing was "
             "stored.", limit=format_size(limit))


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return _error_page(
            400,
            _("Your form expired"),
            _("The form was missing its security token or it has expired. "
              "Go back, reload the page and try again. Nothing was changed."),
        )

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        messages = {
            403: (_("Not allowed"), _("Your role does not allow this action.")),
            404: (_("Page not found"), _("There is nothing here, or you do not have access.")),
            405: (_("Not allowed"), _("That method is not allowed here.")),
            413: (_("File too large"), _too_large_message()),
            429: (_("Too many requests"), _("Slow down and try again in a moment.")),
        }
        title, message = messages.get(e.code or 500, (e.name, e.description or ""))
        return _error_page(e.code or 500, title, message)

    @app.errorhandler(DomainError)
    def domain_error(e: DomainError):
        if _wants_json():
            return jsonify({"error": {"code": e.code, "message": e.message}}), e.status
        return _error_page(e.status, _("That cannot be done"), e.message)

    @app.errorhandler(Exception)
    def internal_error(e: Exception):
        if isinstance(e, HTTPException):
            return http_error(e)
        if app.testing and app.config.get("PROPAGATE_EXCEPTIONS") is not False:
            raise e
        app.logger.exception("unhandled error", extra={"request_id": g.get("request_id")})
        from accreditor.extensions import db

        db.session.rollback()
        return _error_page(
            500,
            _("Something went wrong"),
            _("An unexpected error happened and was logged. Quote reference %(rid)s if you "
              "contact support.", rid=g.get("request_id", "-")),
        )
