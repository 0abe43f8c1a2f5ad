"""HTTP plumbing of the public API: the error shape, caching headers and revalidation, CORS.

Every API error is ``{"error": {"code": …, "message": …}}`` (``details`` names each bad
parameter of an ``invalid_parameter``). Successful reads carry a strong ``ETag`` and
``Cache-Control: public, max-age=…``, and a ``Last-Modified`` where the answer has a date (not
the OpenAPI document, not an empty list). The API's views revalidate by ``ETag`` only (a date
cannot tell every change: an AB renamed, a listing ended); errors are never cached publicly.
CORS is open to any origin for GET/HEAD/OPTIONS, without credentials.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from flask import Response, current_app, g, request
from werkzeug.exceptions import MethodNotAllowed

API_PREFIX = "/api/"
# Bumped whenever what a response says for the same data changes (new fields, new shape): the
# ETags of cached answers then stop matching.
REPRESENTATION_VERSION = "1"
DEFAULT_MAX_AGE = 60  # seconds; ``API_CACHE_MAX_AGE`` overrides it

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since, Accept, Accept-Language",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Retry-After, X-Request-ID",
    "Access-Control-Max-Age": "86400",
}

ERROR_CODES = {
    400: "invalid_parameter",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
    500: "internal_error",
}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def dumps(body) -> bytes:
    """The JSON bytes of a body: compact, keys in the order written, UTF-8."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def etag_of(*parts) -> str:
    """A strong validator from the given parts (the representation version always included)."""
    digest = hashlib.sha256(REPRESENTATION_VERSION.encode())
    for part in parts:
        digest.update(b"\x1f")
        digest.update(part if isinstance(part, bytes) else str(part).encode())
    return digest.hexdigest()[:32]


def _second(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def not_modified(etag: str, last_modified: datetime | None, *, use_date: bool = True) -> bool:
    """Whether the client's copy is current (RFC 9110 13.2.2: ``If-None-Match`` decides when
    sent; ``If-Modified-Since`` only without it, and only where ``use_date``)."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(etag) or request.if_none_match.star_tag
    since = request.if_modified_since
    if use_date and since is not None and last_modified is not None:
        return _second(last_modified) <= _second(since)
    return False


def max_age() -> int:
    return int(current_app.config.get("API_CACHE_MAX_AGE", DEFAULT_MAX_AGE))


def cached(body: bytes | None, etag: str, last_modified: datetime | None, *,
           status: int = 200) -> Response:
    """A 200 (or a 304 when ``body`` is None) with the caching headers."""
    response = Response(b"" if body is None else body, status=304 if body is None else status,
                        mimetype="application/json")
    if body is None:
        response.headers.pop("Content-Type", None)
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = _second(last_modified)
    response.headers["Cache-Control"] = f"public, max-age={max_age()}"
    return response


def conditional(body_of, etag: str, last_modified: datetime | None, *,
                use_date: bool = True) -> Response:
    """304 when the client's copy is current, else the body (``body_of()`` builds it only then:
    a revalidated 2,000-line entry never loads its lines)."""
    if not_modified(etag, last_modified, use_date=use_date):
        return cached(None, etag, last_modified)
    return cached(body_of(), etag, last_modified)


def error_response(status: int, message: str, *, code: str | None = None,
                   details: dict[str, str] | None = None) -> Response:
    error: dict = {"code": code or ERROR_CODES.get(status, "error"), "message": message}
    if details:
        error["details"] = details
    if g.get("request_id"):
        error["request_id"] = g.request_id
    response = Response(dumps({"error": error}), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def after_api_request(response: Response) -> Response:
    """CORS on every API answer (errors too: a browser client must read them); errors are not
    stored by shared caches."""
    if not is_api_request():
        return response
    for name, value in CORS_HEADERS.items():
        response.headers[name] = value
    if response.status_code >= 400:
        response.headers["Cache-Control"] = "no-store"
    routing = request.routing_exception
    if response.status_code == 405 and isinstance(routing, MethodNotAllowed) \
            and routing.valid_methods and "Allow" not in response.headers:
        response.headers["Allow"] = ", ".join(sorted(routing.valid_methods))  # RFC 9110 15.5.6
    return response
