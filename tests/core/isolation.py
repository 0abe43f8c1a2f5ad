"""The every-route cross-tenant walker, shared by the real check and the planted-leak check.

For every URL rule of an app, the walker fills each argument with an identifier of tenant B's
objects, requests it (GET and POST where allowed) as a user of tenant A who holds every role,
and collects every response that is a 200 or shows tenant-B data. A new route is covered the
moment it exists; a route whose argument name the walker does not know fails the test until
someone teaches ``fillers`` how to produce a tenant-B value for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask

# Endpoints that serve files shipped with the code, not tenant data.
SKIP_ENDPOINTS = {"static", "bootstrap.static"}
# URL arguments that name something every tenant shares (a list kind, a file), not an object.
SHARED_ARGS = {"kind", "filename"}


@dataclass
class Leak:
    method: str
    url: str
    status: int
    reason: str


@dataclass
class WalkResult:
    requests: int = 0
    leaks: list[Leak] = field(default_factory=list)
    unknown_args: dict[str, set[str]] = field(default_factory=dict)


def walk(
    app: Flask,
    client,
    *,
    fillers: dict[str, Callable[[], object]],
    own_slug: str,
    other_slug: str | None,
    other_markers: list[str],
    relogin: Callable[[], None],
) -> WalkResult:
    """Request every rule with tenant-B arguments; report responses that leak."""
    result = WalkResult()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        args = sorted(rule.arguments)
        unknown = [a for a in args if a not in fillers and a != "tenant_slug"]
        if unknown:
            result.unknown_args[rule.rule] = set(unknown)
            continue
        object_values = {a: fillers[a]() for a in args if a != "tenant_slug"}
        # Variant 1: the other tenant's slug. Variant 2: our own slug with the other side's ids.
        variants = []
        # A public page (directory, complaint form) serves any tenant's published data under that
        # tenant's own slug by design; under our slug it must still refuse the other's ids.
        public = getattr(app.view_functions.get(rule.endpoint), "is_public", False)
        if public and other_slug is None:
            continue  # within one tenant, another CAB's published data is public by design
        if "tenant_slug" in args:
            if other_slug is not None and not public:
                variants.append(({**object_values, "tenant_slug": other_slug}, True))
            owned = set(object_values) - SHARED_ARGS
            variants.append(({**object_values, "tenant_slug": own_slug}, bool(owned)))
        else:
            variants.append((object_values, bool(set(object_values) - SHARED_ARGS)))
        for values, targets_other in variants:
            url = _build(app, rule.endpoint, values)
            for method in ("GET", "POST"):
                if method not in (rule.methods or ()):
                    continue
                relogin()
                resp = client.open(url, method=method)
                result.requests += 1
                body = resp.get_data().decode("utf-8", "replace")  # PDFs too
                if targets_other and resp.status_code == 200:
                    result.leaks.append(Leak(method, url, 200, "200 for another tenant's object"))
                for marker in other_markers:
                    if marker in body:
                        result.leaks.append(
                            Leak(method, url, resp.status_code, f"body shows {marker!r}")
                        )
    return result


def _build(app: Flask, endpoint: str, values: dict) -> str:
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)
