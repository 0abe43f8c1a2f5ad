"""Flask extensions, created unbound and initialised in :func:`accreditor.create_app`."""

from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from accreditor.core.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
# Only routes decorated with ``limiter.limit`` are limited (public forms, the public API).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Short-lived public answers (accreditor.directory.cache); its backend is set in create_app.
cache = Cache()
