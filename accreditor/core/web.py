"""Per-request plumbing: request ids, structured request logs and security headers."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request
from flask_login import current_user

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

request_log = logging.getLogger("accreditor.request")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from flask import has_request_context

        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id") if has_request_context() else None
        return True


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if app.config["LOG_JSON"]:
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger("accreditor")
    root.handlers[:] = [handler]
    root.setLevel(app.config["LOG_LEVEL"])
    root.propagate = False
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(app.config["LOG_LEVEL"])


def init_app(app: Flask) -> None:
    configure_logging(app)

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def security_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("HSTS"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if current_user and current_user.is_authenticated and \
                "no-store" not in h.get("Cache-Control", ""):
            h["Cache-Control"] = "no-store"  # a view may say more ("private, no-store")
        if g.get("request_id"):
            h["X-Request-ID"] = g.request_id
        return response

    @app.after_request
    def log_request(response):
        started = g.get("request_started")
        if started is not None and request.endpoint != "static":
            request_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": _loggable_path(),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "tenant": getattr(g.get("tenant"), "slug", None),
                    "user_id": current_user.id if current_user.is_authenticated else None,
                    "ip": request.remote_addr,
                },
            )
        return response


def _loggable_path() -> str:
    """The request path for the log, except that a URL carrying a secret (a password-reset or
    invitation token, a calendar-feed token) is logged as its rule: whoever reads the logs must
    not be able to use the link."""
    if request.view_args and "token" in request.view_args and request.url_rule is not None:
        return request.url_rule.rule
    return request.path


def external_url(endpoint: str, **values) -> str:
    """An absolute URL for e-mails, always on ``BASE_URL``.

    Never from the request: its ``Host`` (or ``X-Forwarded-Host`` behind ``PROXY_FIX``) is chosen
    by the client, and a forged one would put another domain into a password-reset link. The
    same code serves requests, jobs and CLI commands; no request context is pushed (popping one
    would run the app's teardown handlers in the middle of a request).
    """
    from urllib.parse import urlsplit

    from flask import current_app, has_request_context, request

    app = current_app._get_current_object()
    base = urlsplit(app.config["BASE_URL"])
    if endpoint.startswith(".") and has_request_context() and request.blueprint:
        endpoint = request.blueprint + endpoint
    values = dict(values)
    anchor = values.pop("_anchor", None)
    app.inject_url_defaults(endpoint, values)  # e.g. the current tenant's slug
    adapter = app.url_map.bind(base.netloc, script_name=base.path or "/",
                               url_scheme=base.scheme)
    url = adapter.build(endpoint, values, force_external=True)
    if anchor is not None:
        from urllib.parse import quote

        url += "#" + quote(anchor, safe="%!#$&'()*+,/:;=?@")
    return url
