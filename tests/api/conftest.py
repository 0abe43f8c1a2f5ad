"""The public API's tests: every answer a test receives goes through ``api`` (or ``check``),
which validates it against the OpenAPI document the app serves — status declared for the
operation, JSON body valid against the declared schema (formats checked), 304s empty, the
declared headers present."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import insert, select

from accreditor.api import spec
from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.directory import services
from accreditor.extensions import db
from accreditor.scopes.models import ScopeEvent, ScopeItem
from tests.directory.conftest import GRANTED, big, load_acc

SPEC_URI = "urn:accreditor:openapi"

# Without rfc3987 / rfc3986-validator, jsonschema checks no "uri" at all (silently): every URL
# field of the document would go unchecked.
assert "uri" in FormatChecker.checkers, "pip install the test extras (rfc3986-validator)"


class SpecChecker:
    def __init__(self, document: dict):
        self.doc = document
        self.registry = Registry().with_resource(
            SPEC_URI, Resource.from_contents(document, default_specification=DRAFT202012))
        # {number} may hold a slash (ENAC-style "3424/LC4325"); other parameters may not
        self.routes = [(re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path).replace(
            r"\{number\}", "(.+)")) + "$"), path) for path in document["paths"]]
        self.checked: set[tuple[str, str]] = set()
        self.validated = 0  # answers checked against a declared response (body or empty)

    def _resolve(self, node: dict) -> dict:
        while "$ref" in node:
            target = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry,
                                    format_checker=FormatChecker())

    def check(self, method: str, path: str, resp) -> None:
        status = str(resp.status_code)
        template = next((t for rx, t in self.routes if rx.match(path)), None)
        if template is None:  # not an operation: only the error shape applies
            assert resp.status_code in (404, 405), (path, resp.status_code)
            self.validator("/components/schemas/Error").validate(resp.get_json())
            self.validated += 1
            return
        item = self.doc["paths"][template]
        operation = item.get("get" if method == "HEAD" else method.lower())
        if operation is None:  # a method the API does not have: 405, as declared for all
            assert resp.status_code == 405, (method, path, resp.status_code)
            operation = {"responses": {"405": {"$ref": "#/components/responses/"
                                                      "MethodNotAllowed"}}}
        assert status in operation["responses"], (
            f"{method} {template} answered {status}, not declared in the OpenAPI document")
        declared = self._resolve(operation["responses"][status])
        self.checked.add((template, status))
        content = declared.get("content")
        self.validated += 1
        if not content or method == "HEAD":
            assert resp.get_data() == b"", "a 304 (or a HEAD) has no body"
        else:
            assert resp.mimetype == "application/json"
            schema = content["application/json"]["schema"]
            validator = (self.validator(schema["$ref"][1:]) if "$ref" in schema else
                         Draft202012Validator(schema, format_checker=FormatChecker()))
            errors = list(validator.iter_errors(resp.get_json()))
            assert not errors, "\n".join(
                f"{list(e.path)}: {e.message}" for e in errors[:10])
        for header in declared.get("headers", {}):
            if header != "Last-Modified":  # a list with no items has no date
                assert header in resp.headers, (status, header)


@pytest.fixture(scope="session")
def openapi_checker() -> SpecChecker:
    return SpecChecker(spec.document("http://localhost"))


@pytest.fixture
def api(client, openapi_checker):
    """``api(url, status=200, **kwargs)`` GETs (or ``method=``) and validates the answer."""

    calls = []

    def _call(url: str, status: int | None = 200, *, method: str = "GET", **kwargs):
        resp = client.open(url, method=method, **kwargs)
        if status is not None:
            assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
        openapi_checker.check(method, url.split("?", 1)[0], resp)
        calls.append(url)
        return resp

    before = openapi_checker.validated
    yield _call
    # every answer the test received was checked against the document
    assert openapi_checker.validated - before == len(calls), (calls, openapi_checker.validated)


def published_lab(tenant, lines: int, *, number: str, legal_name: str | None = None):
    """An accredited calibration lab with ``lines`` scope lines (in bulk), each with its grant
    event (so verification has history), published to the directory."""
    acc = big(tenant, lines, legal_name=legal_name or f"Lab {number}", number=number)
    with tenant_scope(tenant):
        ids = db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == acc.id)).scalars().all()
        db.session.execute(insert(ScopeEvent), [
            {"tenant_id": tenant.id, "cab_id": acc.cab_id, "accreditation_id": acc.id,
             "scope_item_id": i, "from_status": "applied", "to_status": "accredited",
             "effective_on": GRANTED, "reason_code": "grant"} for i in ids])
        assert services.publish(load_acc(acc.id)) is not None
        commit()
    return acc


def day_before(d):
    return d - timedelta(days=1)
