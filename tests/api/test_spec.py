"""The OpenAPI document: valid OpenAPI 3.1, its own examples valid against its schemas, served
as JSON at /api/v1/openapi.json and as a page at /api/docs."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from accreditor.api import spec


def test_the_document_is_valid_openapi_3_1(api):
    served = api("/api/v1/openapi.json").get_json()
    assert served["openapi"].startswith("3.1")
    validate(served)  # raises with the first problem
    assert served["servers"] == [{"url": "http://localhost"}]  # BASE_URL
    assert set(served["paths"]) == {
        "/api/v1/accreditations", "/api/v1/{tenant}/accreditations/{number}",
        "/api/v1/{tenant}/verify/{number}", "/api/v1/openapi.json"}


@pytest.mark.parametrize("name", ["AccreditationList", "Accreditation", "Verification"])
def test_each_example_is_valid_against_its_own_schema(openapi_checker, name):
    openapi_checker.validator(f"/components/schemas/{name}").validate(spec.EXAMPLES[name])


@pytest.mark.parametrize("code", ["invalid_parameter", "not_found", "method_not_allowed",
                                  "rate_limited"])
def test_each_error_example_is_an_error(openapi_checker, code):
    openapi_checker.validator("/components/schemas/Error").validate(spec.EXAMPLES[code])
    assert spec.EXAMPLES[code]["error"]["code"] == code


def test_every_schema_is_valid_json_schema():
    for schema in spec.SCHEMAS.values():
        Draft202012Validator.check_schema(schema)
    assert FormatChecker  # formats are checked by the response validator


def test_every_operation_declares_its_errors():
    for path, item in spec.PATHS.items():
        responses = item["get"]["responses"]
        assert {"200", "304", "405", "429"} <= set(responses), path
        if "{number}" in path:
            assert "404" in responses, path


def test_the_revalidation_answer_is_304_for_the_document_too(api):
    first = api("/api/v1/openapi.json")
    api("/api/v1/openapi.json", 304, headers={"If-None-Match": first.headers["ETag"]})


def test_the_docs_page_shows_every_endpoint_its_parameters_and_fields(client):
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    for op in ("GET /api/v1/accreditations", "GET /api/v1/{tenant}/accreditations/{number}",
               "GET /api/v1/{tenant}/verify/{number}"):
        assert op in body
    for text in ("per_page", "iaf_code", "invalid_parameter", "rate_limited", "pdf_url",
                 "accreditation_number", "scope[].status", "history[].to_status",
                 "If-None-Match", "Retry-After", "&#34;accredited&#34;: true",
                 "<code>ISO 9001</code>"):
        assert text in body, text
    # Nothing of the page needs JavaScript; only the site's own files are referenced.
    assert re.findall(r'<script src="([^"]+)"', body) == [
        s for s in re.findall(r'<script src="([^"]+)"', body) if s.startswith("/")]
    assert not re.search(r'(src|href)="(https?:)?//', body)


def test_the_checker_refuses_what_the_document_refuses(openapi_checker):
    """The tests' checker is not a rubber stamp: a URL that is not one, a missing field and an
    undeclared status fail it."""
    from types import SimpleNamespace

    validator = openapi_checker.validator("/components/schemas/Verification")
    bad_url = {**spec.EXAMPLES["Verification"], "url": "not a url"}
    assert any(e.validator == "format" for e in validator.iter_errors(bad_url))
    missing = {k: v for k, v in spec.EXAMPLES["Verification"].items() if k != "accredited"}
    assert list(validator.iter_errors(missing))
    teapot = SimpleNamespace(status_code=418, mimetype="application/json",
                             get_json=lambda: {}, get_data=lambda: b"", headers={})
    with pytest.raises(AssertionError, match="not declared"):
        openapi_checker.check("GET", "/api/v1/accreditations", teapot)
