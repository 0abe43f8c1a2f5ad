"""Accreditor: a multi-tenant platform for accreditation bodies."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from accreditor.config import CONFIGS, PROJECT_ROOT, check_secrets, from_environment


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: class defaults, then the environment, then ``config`` (tests)."""
    env_name = (config or {}).get("ENV") or os.environ.get("ACCREDITOR_ENV", "production")
    base = CONFIGS.get(env_name)
    if base is None:
        raise RuntimeError(f"ACCREDITOR_ENV must be one of {sorted(CONFIGS)}, not {env_name!r}")
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.from_object(base)
    app.config.update(from_environment(base))
    app.config.update(config or {})
    check_secrets(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from accreditor.core import audit, jobs, tenancy, web
    from accreditor.core.db import sqlite_pragmas
    from accreditor.core.errors import register_error_handlers
    from accreditor.directory import cache as directory_cache
    from accreditor.extensions import (
        babel,
        bootstrap,
        cache,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
    )

    db.init_app(app)
    from accreditor.directory.search import include_name

    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR") or _migrations_dir()),
                     include_name=include_name)  # SQLite's FTS5 tables are not models
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    bootstrap.init_app(app)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    limiter.init_app(app)
    if not app.config.get("CACHE_TYPE"):
        if app.config.get("REDIS_URL"):
            app.config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=app.config["REDIS_URL"])
        else:
            app.config["CACHE_TYPE"] = "SimpleCache"
    cache.init_app(app)
    with app.app_context():
        sqlite_pragmas(db.engine)
    tenancy.install_listeners()
    audit.install_listeners()
    jobs.install_listeners()
    directory_cache.install_listeners()
    web.init_app(app)
    register_error_handlers(app)

    from accreditor.auth.views import init_app as init_auth

    init_auth(app)

    @app.teardown_request
    def run_leftover_jobs(exc):
        if exc is None:
            jobs.run_ready_jobs()

    @app.context_processor
    def inject_helpers():
        from flask import g
        from flask_babel import get_locale

        from accreditor.core.permissions import Role, has_role

        return {"Role": Role, "has_role": has_role, "current_tenant": g.get("tenant"),
                "current_membership": g.get("membership"), "get_locale": get_locale}


def _migrations_dir() -> str:
    return str(PROJECT_ROOT / "migrations")


def _select_locale():
    from flask import g, request

    tenant = g.get("tenant")
    supported = ["en"]
    best = request.accept_languages.best_match(supported) if request else None
    return best or (tenant.default_locale if tenant is not None else "en")


def _register_blueprints(app: Flask) -> None:
    import accreditor.jobs  # noqa: F401 - periodic jobs registered for `flask jobs tick`
    import accreditor.models  # noqa: F401 - every table registered before anything else
    from accreditor.api import register as register_api
    from accreditor.appeals.views import bp as appeals_bp
    from accreditor.appeals.views import portal_bp as cab_appeals_bp
    from accreditor.applications.views import bp as applications_bp
    from accreditor.assessments.calendar_views import bp as calendars_bp
    from accreditor.assessments.feed_views import bp as calendar_feed_bp
    from accreditor.assessments.portal_views import bp as cab_assessments_bp
    from accreditor.assessments.print_views import bp as assessment_print_bp
    from accreditor.assessments.programme_views import bp as programme_bp
    from accreditor.assessments.register_views import bp as assessors_bp
    from accreditor.assessments.views import bp as assessments_bp
    from accreditor.assessments.witness_views import bp as witnesses_bp
    from accreditor.auth.views import bp as auth_bp
    from accreditor.cabs.views import bp as cabs_bp
    from accreditor.certificates.views import bp as certificates_bp
    from accreditor.complaints.portal_views import bp as cab_complaints_bp
    from accreditor.complaints.views import bp as complaints_bp
    from accreditor.core.health import bp as health_bp
    from accreditor.core.views import bp as core_bp
    from accreditor.decisions.views import bp as decisions_bp
    from accreditor.decisions.views import portal_bp as cab_decisions_bp
    from accreditor.directory.export_views import bp as directory_data_bp
    from accreditor.directory.export_views import global_bp as open_data_bp
    from accreditor.directory.public_views import bp as public_directory_bp
    from accreditor.directory.verify_views import bp as verify_bp
    from accreditor.directory.views import bp as directory_bp
    from accreditor.documents.views import bp as documents_bp
    from accreditor.findings.list_views import bp as finding_lists_bp
    from accreditor.findings.portal_views import bp as cab_findings_bp
    from accreditor.findings.views import bp as findings_bp
    from accreditor.portal.views import bp as portal_bp
    from accreditor.refdata.views import bp as refdata_bp
    from accreditor.scopes.views import bp as scopes_bp
    from accreditor.tenants.admin import bp as admin_bp
    from accreditor.tenants.views import bp as tenant_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(calendar_feed_bp)
    app.register_blueprint(verify_bp)
    app.register_blueprint(public_directory_bp)
    app.register_blueprint(open_data_bp)
    register_api(app)
    # Feature blueprints live under /<tenant_slug>/ (nested): tenant resolution runs first.
    # Nesting is set up once per process (several apps may be created, e.g. in tests).
    if not tenant_bp._blueprints:
        for feature_bp in (cabs_bp, scopes_bp, applications_bp, portal_bp, refdata_bp,
                           assessors_bp, assessments_bp, cab_assessments_bp, programme_bp,
                           calendars_bp, witnesses_bp, assessment_print_bp,
                           documents_bp, finding_lists_bp, findings_bp, cab_findings_bp,
                           decisions_bp, cab_decisions_bp, certificates_bp, directory_bp,
                           directory_data_bp,
                           complaints_bp, cab_complaints_bp, appeals_bp, cab_appeals_bp):
            tenant_bp.register_blueprint(feature_bp)
    app.register_blueprint(tenant_bp)


def _register_cli(app: Flask) -> None:
    from accreditor.bench_cli import bench_cli
    from accreditor.core.cli import audit_cli, jobs_cli, users_cli
    from accreditor.demo import demo_command
    from accreditor.directory.cli import directory_cli
    from accreditor.refdata.cli import refdata_cli
    from accreditor.tenants.cli import tenants_cli

    app.cli.add_command(audit_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(tenants_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(refdata_cli)
    app.cli.add_command(directory_cli)
    app.cli.add_command(bench_cli)
