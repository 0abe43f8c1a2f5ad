"""``/api/docs``: the API's documentation as an ordinary page, rendered on the server from the
OpenAPI document (no JavaScript, nothing fetched from elsewhere): each endpoint with its
parameters, its answers, the fields of each answer and an example."""

from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, render_template
from markupsafe import Markup, escape

from accreditor.api import spec

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api")


_CODE = re.compile(r"`([^`]+)`")


def inline_code(text: str) -> Markup:
    """A description with its `backticked` words as <code> (everything else escaped)."""
    escaped = str(escape(text or ""))
    return Markup(_CODE.sub(r"<code>\1</code>", escaped))  # noqa: S704 - escaped above


def _resolve(doc: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target: object = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]  # type: ignore[index]
        node = target  # type: ignore[assignment]
    return node


def _type_of(doc: dict, schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    words = []
    for k in kinds:
        if k == "array":
            words.append(f"array of {_type_of(doc, schema.get('items', {}))}")
        elif k == "null":
            words.append("null")
        else:
            words.append(k + (f" ({schema['format']})" if "format" in schema else ""))
    return " or ".join(words)


def _fields(doc: dict, schema: dict, prefix: str = "", depth: int = 0) -> list[dict]:
    """The properties of an object schema, nested ones as ``parent.child`` (arrays as
    ``parent[].child``), with type, whether required, allowed values and description."""
    schema = _resolve(doc, schema)
    out: list[dict] = []
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        target = _resolve(doc, prop)
        values = [v for v in target.get("enum", []) if v is not None]
        out.append({"name": prefix + name, "type": _type_of(doc, prop),
                    "required": name in required, "values": values,
                    "description": target.get("description", "")})
        if depth < 3:
            if "properties" in target:
                out += _fields(doc, target, f"{prefix}{name}.", depth + 1)
            items = target.get("items")
            if isinstance(items, dict) and "properties" in _resolve(doc, items):
                out += _fields(doc, items, f"{prefix}{name}[].", depth + 1)
    return out


def operations(doc: dict) -> list[dict]:
    """The endpoints as the page shows them."""
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            params = []
            for p in op.get("parameters", []):
                p = _resolve(doc, p)
                schema = p.get("schema", {})
                params.append({**p, "type": _type_of(doc, schema),
                               "values": schema.get("enum", []),
                               "default": schema.get("default")})
            responses = []
            for status, response in op["responses"].items():
                response = _resolve(doc, response)
                media = response.get("content", {}).get("application/json", {})
                schema = media.get("schema")
                example = media.get("example")
                responses.append({
                    "status": status, "description": response.get("description", ""),
                    "schema": schema["$ref"].rsplit("/", 1)[-1]
                    if schema and "$ref" in schema else None,
                    "headers": sorted(response.get("headers", {})),
                    "example": json.dumps(example, indent=2, ensure_ascii=False)
                    if example is not None else None})
            ops.append({"id": op["operationId"], "method": method.upper(), "path": path,
                        "summary": op.get("summary", ""),
                        "description": op.get("description", ""),
                        "parameters": params, "responses": responses})
    return ops


@docs_bp.get("/docs")
def page():
    base = current_app.config.get("BASE_URL") or ""
    doc = spec.document(base or None)
    schemas = [{"name": name, "description": schema.get("description", ""),
                "fields": _fields(doc, schema)}
               for name, schema in doc["components"]["schemas"].items()]
    return render_template("api/docs.html", doc=doc, operations=operations(doc),
                           schemas=schemas, base_url=base.rstrip("/"), md=inline_code)
