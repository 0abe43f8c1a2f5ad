"""WSGI entry point: ``gunicorn wsgi:app``."""

from accreditor import create_app

app = create_app()
