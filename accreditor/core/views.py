"""Platform-level pages that belong to no tenant: the front page."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

bp = Blueprint("core", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("auth.after_login"))
    return render_template("core/index.html")
