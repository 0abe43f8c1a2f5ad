"""``/healthz``: database and Redis reachability as JSON (200 when all configured parts answer);
``/livez``: the process answers (no database, no Redis) — also the trivial endpoint
``bench/directory.py`` compares every public page with."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    from accreditor.extensions import db

    checks: dict[str, dict] = {}
    start = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "backend": db.engine.dialect.name}
    except Exception as exc:  # report, never raise: this is the thing that tells you it's down
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    finally:
        db.session.rollback()
    checks["database"]["ms"] = round((time.perf_counter() - start) * 1000, 1)

    if current_app.config.get("REDIS_URL"):
        start = time.perf_counter()
        try:
            from accreditor.core.jobs import redis_connection

            redis_connection().ping()
            checks["redis"] = {"ok": True}
        except Exception as exc:
            checks["redis"] = {"ok": False, "error": type(exc).__name__}
        checks["redis"]["ms"] = round((time.perf_counter() - start) * 1000, 1)
    else:
        checks["redis"] = {"ok": True, "configured": False, "jobs": "in-process"}

    ok = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if ok else "unavailable", "checks": checks}), 200 if ok else 503


@bp.get("/livez")
def livez():
    """Liveness: "ok" as plain text, touching nothing (no database, no session, no template)."""
    return Response("ok", mimetype="text/plain")
