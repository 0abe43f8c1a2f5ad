"""The OpenAPI 3.1 document of the public API, written as data: the one source of truth for
``/api/v1/openapi.json``, the readable page ``/api/docs`` and the tests (every response the
tests receive is validated against it).

Schemas are JSON Schema 2020-12 (OpenAPI 3.1); a value that may be absent is ``null``, never
left out.
"""

from __future__ import annotations

import copy
from functools import cache

from accreditor.directory.models import PublicStatus
from accreditor.directory.search import (
    DEFAULT_PER_PAGE,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    SORTS,
)
from accreditor.refdata.models import ScopeType

VERSION = "1.0.0"

STATUSES = [s.value for s in PublicStatus]
PROGRAMMES = [t.value for t in ScopeType]
LINE_STATUSES = ["accredited", "suspended", "withdrawn", "expired"]
SANCTION_TYPES = ["imposed", "voluntary", "financial"]
ERROR_CODES = ["invalid_parameter", "not_found", "method_not_allowed", "rate_limited",
               "internal_error"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    out = dict(schema)
    kind = out.get("type")
    if kind is not None:
        out["type"] = [kind, "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


_DATE = {"type": "string", "format": "date"}
_STATUS = {"type": "string", "enum": STATUSES,
           "description": "Public status: " + ", ".join(STATUSES) + "."}
_NUMBER = {"type": "string", "description": "The accreditation number the AB gave.",
           "examples": ["0042.01"]}
_TENANT = {"type": "string", "description": "The accreditation body's slug (its URL name).",
           "examples": ["ukas-demo"]}

SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "description": "Every 4xx/5xx answer.",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "enum": ERROR_CODES,
                         "description": "Stable, for programs: " + ", ".join(ERROR_CODES) + "."},
                "message": {"type": "string", "description": "For people (may change)."},
                "details": {"type": "object", "additionalProperties": {"type": "string"},
                            "description": "invalid_parameter only: each bad parameter and "
                                           "what is wrong with it."},
                "request_id": {"type": "string",
                               "description": "Quote it when reporting a problem."},
            },
        }},
    },
    "AccreditationSummary": {
        "type": "object",
        "description": "One accreditation in a search result.",
        "required": ["tenant", "tenant_name", "accreditation_number", "cab_name",
                     "trading_names", "programme", "programme_code", "standard", "edition",
                     "status", "country", "url"],
        "additionalProperties": False,
        "properties": {
            "tenant": _TENANT,
            "tenant_name": {"type": "string", "description": "The accreditation body's name."},
            "accreditation_number": _NUMBER,
            "cab_name": {"type": "string",
                         "description": "Legal name of the accredited body (CAB)."},
            "trading_names": {"type": "array", "items": {"type": "string"}},
            "programme": {"type": "string", "enum": PROGRAMMES,
                          "description": "Kind of accreditation (the `programme` filter)."},
            "programme_code": {"type": "string", "description": "The AB's programme code.",
                               "examples": ["17025-C"]},
            "standard": {"type": "string", "description": "Standard, without the edition.",
                         "examples": ["ISO/IEC 17025"]},
            "edition": {"type": "string", "description": "Edition of the standard.",
                        "examples": ["2017"]},
            "status": _STATUS,
            "country": {"type": "string", "description": "ISO 3166-1 alpha-2.",
                        "examples": ["GB"]},
            "url": {"type": "string", "format": "uri",
                    "description": "The public directory page of the accreditation."},
        },
    },
    "AccreditationList": {
        "type": "object",
        "required": ["items", "total", "page", "per_page", "pages"],
        "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "items": _ref("AccreditationSummary"),
                      "maxItems": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0,
                      "description": "Matching accreditations, all pages (a lower bound when "
                                     "total_exact is false)."},
            "total_exact": {"type": "boolean",
                            "description": "False when more accreditations match than a search "
                                           "counts (500): total is then that bound, and pages "
                                           "end there."},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                         "description": "As applied (a larger request is clamped)."},
            "pages": {"type": "integer", "minimum": 1},
        },
    },
    "Location": {
        "type": "object",
        "required": ["code", "name", "address", "country", "kind"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "description": "Referenced by scope lines."},
            "name": {"type": "string"},
            "address": _nullable({"type": "string"}),
            "country": _nullable({"type": "string"}),
            "kind": _nullable({"type": "string",
                               "description": "e.g. permanent, site, mobile."}),
        },
    },
    "Contact": {
        "type": "object",
        "description": "A contact the CAB chose to publish.",
        "required": ["name", "position", "email", "phone"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "position": _nullable({"type": "string"}),
            "email": _nullable({"type": "string"}),
            "phone": _nullable({"type": "string"}),
        },
    },
    "ScopeLine": {
        "type": "object",
        "required": ["position", "summary", "status", "fields"],
        "additionalProperties": False,
        "properties": {
            "position": {"type": "integer", "description": "Order on the schedule."},
            "summary": {"type": "string", "description": "The line as one sentence."},
            "status": {"type": "string", "enum": LINE_STATUSES,
                       "description": "A suspended line is not accredited until reinstated."},
            "fields": {"type": "object",
                       "description": "The programme's schedule fields of the line (e.g. "
                                      "calibration: discipline, quantity, range_min, "
                                      "range_max, range_unit, cmc, cmc_unit, remarks, "
                                      "location; management systems: standard, iaf_codes).",
                       "additionalProperties": True},
        },
    },
    "HistoryEvent": {
        "type": "object",
        "required": ["occurred_on", "from_status", "to_status", "sanction_type"],
        "additionalProperties": False,
        "properties": {
            "occurred_on": _DATE,
            "from_status": _nullable(_STATUS),
            "to_status": _STATUS,
            "sanction_type": _nullable({"type": "string", "enum": SANCTION_TYPES,
                                        "description": "For a suspension."}),
        },
    },
    "Schedule": {
        "type": "object",
        "description": "The current schedule of accreditation (the scope document).",
        "required": ["issue_number", "issue_date", "pdf_url", "certificate_pdf_url"],
        "additionalProperties": False,
        "properties": {
            "issue_number": {"type": "integer", "minimum": 1},
            "issue_date": _DATE,
            "pdf_url": _nullable({"type": "string", "format": "uri",
                                  "description": "The current issue's PDF; null while it is "
                                                 "being rendered."}),
            "certificate_pdf_url": _nullable({"type": "string", "format": "uri"}),
        },
    },
    "Accreditation": {
        "type": "object",
        "description": "One accreditation as the AB publishes it, with its whole scope.",
        "required": ["tenant", "tenant_name", "accreditation_number", "cab_name",
                     "trading_names", "country", "website", "locations", "contacts",
                     "programme", "programme_code", "programme_name", "standard", "edition",
                     "inspection_body_type", "status", "status_since", "partially_suspended",
                     "sanction_type", "no_new_certifications", "lines_total",
                     "lines_suspended", "initial_grant_on", "expiry_on", "cycle_end_on",
                     "ended_on", "visible_until", "published_at", "url", "verify_url",
                     "schedule", "scope", "history"],
        "additionalProperties": False,
        "properties": {
            "tenant": _TENANT,
            "tenant_name": {"type": "string"},
            "accreditation_number": _NUMBER,
            "cab_name": {"type": "string"},
            "trading_names": {"type": "array", "items": {"type": "string"}},
            "country": {"type": "string"},
            "website": _nullable({"type": "string"}),
            "locations": {"type": "array", "items": _ref("Location")},
            "contacts": {"type": "array", "items": _ref("Contact")},
            "programme": {"type": "string", "enum": PROGRAMMES},
            "programme_code": {"type": "string"},
            "programme_name": {"type": "string"},
            "standard": {"type": "string"},
            "edition": {"type": "string"},
            "inspection_body_type": _nullable({"type": "string",
                                               "description": "ISO/IEC 17020 type A, B or C."}),
            "status": _STATUS,
            "status_since": _DATE,
            "partially_suspended": {"type": "boolean",
                                    "description": "Some lines suspended (see `scope`)."},
            "sanction_type": _nullable({"type": "string", "enum": SANCTION_TYPES}),
            "no_new_certifications": {
                "type": "boolean",
                "description": "A suspended certification body certifies no new clients in "
                               "the suspended scope."},
            "lines_total": {"type": "integer", "minimum": 0},
            "lines_suspended": {"type": "integer", "minimum": 0},
            "initial_grant_on": _DATE,
            "expiry_on": _nullable(_DATE),
            "cycle_end_on": _nullable(_DATE),
            "ended_on": _nullable({**_DATE, "description": "Withdrawn, resigned or expired on."}),
            "visible_until": _nullable({**_DATE,
                                        "description": "An ended accreditation is listed until "
                                                       "this date (then 404 here; verify still "
                                                       "answers)."}),
            "published_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string", "format": "uri"},
            "verify_url": {"type": "string", "format": "uri"},
            "schedule": _ref("Schedule"),
            "scope": {"type": "array", "items": _ref("ScopeLine"),
                      "description": "Every public line, in schedule order."},
            "history": {"type": "array", "items": _ref("HistoryEvent"),
                        "description": "Status changes, oldest first."},
        },
    },
    "Verification": {
        "type": "object",
        "required": ["accreditation_number", "tenant", "tenant_name", "cab_name", "on",
                     "accredited", "status", "scope", "url"],
        "additionalProperties": False,
        "properties": {
            "accreditation_number": _NUMBER,
            "tenant": _TENANT,
            "tenant_name": {"type": "string"},
            "cab_name": {"type": "string"},
            "on": _DATE,
            "accredited": {"type": "boolean",
                           "description": "At least one line was accredited on that date."},
            "status": _nullable({**_STATUS,
                                 "description": "The public status on that date (null before "
                                                "the first grant)."}),
            "scope": {"type": "array", "items": _ref("ScopeLine"),
                      "description": "The lines accredited on that date (status "
                                     "`accredited`)."},
            "url": _nullable({"type": "string", "format": "uri",
                              "description": "The directory page; null once the listing "
                                             "ended."}),
        },
    },
}

_SUMMARY_EXAMPLE = {
    "tenant": "ukas-demo", "tenant_name": "Demo Accreditation Service",
    "accreditation_number": "0042.01", "cab_name": "Kestrel Calibration Ltd",
    "trading_names": ["Kestrel Cal"], "programme": "calibration", "programme_code": "17025-C",
    "standard": "ISO/IEC 17025", "edition": "2017", "status": "accredited", "country": "GB",
    "url": "https://accreditor.example.org/ukas-demo/directory/0042.01"}
_LINE_EXAMPLE = {
    "position": 1, "status": "accredited",
    "summary": "Pressure – Pressure gauges (hydraulic) – 0 to 700 bar – CMC 0.025 %",
    "fields": {"discipline": "PRES", "quantity": "Pressure gauges (hydraulic)",
               "range_min": "0", "range_max": "700", "range_unit": "bar", "cmc": "0.025",
               "cmc_unit": "%", "remarks": "By comparison with a dead-weight tester",
               "location": "A"}}
EXAMPLES = {
    "AccreditationList": {"items": [_SUMMARY_EXAMPLE], "total": 1, "page": 1, "per_page": 20,
                          "pages": 1},
    "Accreditation": {
        **{k: v for k, v in _SUMMARY_EXAMPLE.items() if k != "url"},
        "website": "https://kestrel.example.org",
        "locations": [{"code": "A", "name": "Head office", "address": "1 Mill Lane, Leeds",
                       "country": "GB", "kind": "permanent"}],
        "contacts": [{"name": "Pat Public", "position": "Quality manager",
                      "email": "quality@kestrel.example.org", "phone": None}],
        "programme_name": "Calibration laboratories", "inspection_body_type": None,
        "status": "partially_suspended", "status_since": "2026-03-02",
        "partially_suspended": True, "sanction_type": "imposed",
        "no_new_certifications": False, "lines_total": 2, "lines_suspended": 1,
        "initial_grant_on": "2023-05-10", "expiry_on": None, "cycle_end_on": "2027-05-09",
        "ended_on": None, "visible_until": None, "published_at": "2026-03-02T10:15:00+00:00",
        "url": _SUMMARY_EXAMPLE["url"],
        "verify_url": "https://accreditor.example.org/api/v1/ukas-demo/verify/0042.01",
        "schedule": {"issue_number": 4, "issue_date": "2026-03-02",
                     "pdf_url": _SUMMARY_EXAMPLE["url"] + "/schedule.pdf",
                     "certificate_pdf_url": _SUMMARY_EXAMPLE["url"] + "/certificate.pdf"},
        "scope": [_LINE_EXAMPLE, {**_LINE_EXAMPLE, "position": 2, "status": "suspended",
                                  "summary": "Mass – Weights – 1 g to 20 kg – CMC 0.1 mg",
                                  "fields": {}}],
        "history": [{"occurred_on": "2023-05-10", "from_status": None,
                     "to_status": "accredited", "sanction_type": None},
                    {"occurred_on": "2026-03-02", "from_status": "accredited",
                     "to_status": "partially_suspended", "sanction_type": "imposed"}]},
    "Verification": {
        "accreditation_number": "0042.01", "tenant": "ukas-demo",
        "tenant_name": "Demo Accreditation Service", "cab_name": "Kestrel Calibration Ltd",
        "on": "2025-06-30", "accredited": True, "status": "accredited",
        "scope": [_LINE_EXAMPLE], "url": _SUMMARY_EXAMPLE["url"]},
    "invalid_parameter": {"error": {"code": "invalid_parameter",
                                    "message": "page: Pages start at 1.",
                                    "details": {"page": "Pages start at 1."}}},
    "not_found": {"error": {"code": "not_found",
                            "message": "No published accreditation has this number at this "
                                       "accreditation body."}},
    "method_not_allowed": {"error": {"code": "method_not_allowed",
                                     "message": "The API only reads: use GET."}},
    "rate_limited": {"error": {"code": "rate_limited",
                               "message": "Too many requests from your address: try again "
                                          "in a moment."}},
}

_CACHE_HEADERS = {
    "ETag": {"description": "Send it back in If-None-Match to revalidate (304).",
             "schema": {"type": "string"}},
    "Last-Modified": {"description": "When the data was last published (for information: "
                                     "revalidate with If-None-Match; If-Modified-Since alone "
                                     "never answers 304). Absent when the answer has no date.",
                      "schema": {"type": "string"}},
    "Cache-Control": {"description": "public, max-age=60 by default.",
                      "schema": {"type": "string"}},
    "Access-Control-Allow-Origin": {"description": "Always *.", "schema": {"type": "string"}},
}


def _json(schema: str, description: str, example: str | None = None,
          headers: dict | None = None) -> dict:
    out: dict = {"description": description, "content": {"application/json": {
        "schema": _ref(schema)}}}
    if example is not None:
        out["content"]["application/json"]["example"] = EXAMPLES[example]
    if headers:
        out["headers"] = headers
    return out


RESPONSES = {
    "NotModified": {"description": "Your copy is current (revalidation with If-None-Match "
                                   "or If-Modified-Since). No body.",
                    "headers": {k: _CACHE_HEADERS[k] for k in ("ETag", "Cache-Control")}},
    "InvalidParameter": _json("Error", "A parameter is invalid (`invalid_parameter`, with "
                                       "`details`).", "invalid_parameter"),
    "NotFound": _json("Error", "Nothing published here (`not_found`): unknown or inactive "
                               "AB, unknown number, or a listing that has ended.", "not_found"),
    "MethodNotAllowed": _json("Error", "The API only reads (`method_not_allowed`).",
                              "method_not_allowed"),
    "RateLimited": _json("Error", "Too many requests from your address (`rate_limited`); "
                                  "`Retry-After` says when to try again.", "rate_limited",
                         {"Retry-After": {"description": "Seconds to wait.",
                                          "schema": {"type": "string"}}}),
}


def _param(name: str, where: str, description: str, schema: dict, *,
           required: bool = False, example=None) -> dict:
    out = {"name": name, "in": where, "description": description, "required": required,
           "schema": schema}
    if example is not None:
        out["example"] = example
    return out


PARAMETERS = {
    "tenant": _param("tenant", "path", "The accreditation body's slug.", {"type": "string"},
                     required=True, example="ukas-demo"),
    "number": _param("number", "path", "The accreditation number.", {"type": "string"},
                     required=True, example="0042.01"),
}

_SEARCH_PARAMS = [
    _param("q", "query", "Words to find in CAB names, trading names, accreditation numbers "
                         "and scope text (e.g. `ISO 9001`, `IAF 28`, `pressure gauges`). Plain "
                         f"words: query syntax is not interpreted. Cut at {MAX_QUERY_CHARS} "
                         "characters.", {"type": "string"}, example="pressure gauges"),
    _param("tenant", "query", "Only this accreditation body (slug).", {"type": "string"}),
    _param("programme", "query", "Only this kind of accreditation; anything else is a 400.",
           {"type": "string", "enum": PROGRAMMES}, example="calibration"),
    _param("status", "query", "Only this public status; anything else is a 400.",
           {"type": "string", "enum": STATUSES}),
    _param("country", "query", "ISO 3166-1 alpha-2 country of the CAB.",
           {"type": "string", "pattern": "^[A-Za-z]{2}$"}, example="GB"),
    _param("iaf_code", "query", "IAF technical area (ISO/IEC 17021-1 certification bodies).",
           {"type": "string"}, example="28"),
    _param("field", "query", "Testing field or calibration discipline as published.",
           {"type": "string"}),
    _param("sort", "query", "Order of the results.",
           {"type": "string", "enum": list(SORTS), "default": "relevance"}),
    _param("page", "query", f"Page number, from 1 (0, negative or not a number: 400); "
           f"capped at {MAX_PAGE:,} (a larger page answers that page).",
           {"type": "integer", "minimum": 1, "default": 1}),
    _param("per_page", "query", f"Results per page, 1 to {MAX_PER_PAGE}; a larger value is "
                                f"clamped to {MAX_PER_PAGE}.",
           {"type": "integer", "minimum": 1, "default": DEFAULT_PER_PAGE}),
]

_COMMON_ERRORS = {"405": {"$ref": "#/components/responses/MethodNotAllowed"},
                  "429": {"$ref": "#/components/responses/RateLimited"}}

PATHS = {
    "/api/v1/accreditations": {"get": {
        "operationId": "searchAccreditations",
        "summary": "Search accreditations across accreditation bodies",
        "description": "Published accreditations of every active accreditation body, "
                       "filtered and paged. Withdrawn, resigned and expired accreditations "
                       "are listed (marked) until their listing period ends. Revalidate with "
                       "If-None-Match (the list does not answer If-Modified-Since alone).",
        "tags": ["accreditations"],
        "parameters": _SEARCH_PARAMS,
        "responses": {
            "200": _json("AccreditationList", "One page of results.", "AccreditationList",
                         _CACHE_HEADERS),
            "304": {"$ref": "#/components/responses/NotModified"},
            "400": {"$ref": "#/components/responses/InvalidParameter"},
            **_COMMON_ERRORS,
        },
    }},
    "/api/v1/{tenant}/accreditations/{number}": {"get": {
        "operationId": "getAccreditation",
        "summary": "One accreditation with its scope, history and schedule",
        "description": "Everything the directory page shows, with every scope line.",
        "tags": ["accreditations"],
        "parameters": [{"$ref": "#/components/parameters/tenant"},
                       {"$ref": "#/components/parameters/number"}],
        "responses": {
            "200": _json("Accreditation", "The accreditation.", "Accreditation",
                         _CACHE_HEADERS),
            "304": {"$ref": "#/components/responses/NotModified"},
            "404": {"$ref": "#/components/responses/NotFound"},
            **_COMMON_ERRORS,
        },
    }},
    "/api/v1/{tenant}/verify/{number}": {"get": {
        "operationId": "verifyAccreditation",
        "summary": "Was this body accredited on a date, and for what?",
        "description": "Answered from the scope history: the lines accredited on `on`. Also "
                       "answers for accreditations whose listing has ended.",
        "tags": ["verification"],
        "parameters": [
            {"$ref": "#/components/parameters/tenant"},
            {"$ref": "#/components/parameters/number"},
            _param("on", "query", "The date (YYYY-MM-DD), today at the latest; default today.",
                   {"type": "string", "format": "date"}, example="2025-06-30"),
        ],
        "responses": {
            "200": _json("Verification", "The answer (also when it is no).", "Verification",
                         _CACHE_HEADERS),
            "304": {"$ref": "#/components/responses/NotModified"},
            "400": {"$ref": "#/components/responses/InvalidParameter"},
            "404": {"$ref": "#/components/responses/NotFound"},
            **_COMMON_ERRORS,
        },
    }},
    "/api/v1/openapi.json": {"get": {
        "operationId": "getOpenApi",
        "summary": "This document",
        "tags": ["meta"],
        "responses": {
            "200": {"description": "The OpenAPI 3.1 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
            "304": {"$ref": "#/components/responses/NotModified"},
            **_COMMON_ERRORS,
        },
    }},
}

DESCRIPTION = (
    "Read-only access to the public directory of accreditations: search, one accreditation "
    "with its scope, and verification for a date. No key needed. Errors are "
    "`{\"error\": {\"code\", \"message\"}}`; answers carry an ETag for "
    "revalidation (If-None-Match) and may be cached publicly for a minute; CORS is open (no credentials); "
    "requests are rate-limited per address. The human-readable page is /api/docs.")


@cache
def _document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Accreditor public directory API", "version": VERSION,
                 "description": DESCRIPTION},
        "tags": [{"name": "accreditations", "description": "The public directory."},
                 {"name": "verification", "description": "Answers from scope history."},
                 {"name": "meta", "description": "About the API."}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "parameters": PARAMETERS, "responses": RESPONSES},
    }


def document(server_url: str | None = None) -> dict:
    """The OpenAPI document (a copy), with ``servers`` when the public address is known."""
    doc = copy.deepcopy(_document())
    if server_url:
        doc["servers"] = [{"url": server_url.rstrip("/")}]
    return doc
