"""Every module with periodic jobs, imported at app start so `flask jobs tick` finds them."""

from accreditor.applications import jobs as applications  # noqa: F401
from accreditor.complaints import jobs as complaints  # noqa: F401
from accreditor.core import mail  # noqa: F401
from accreditor.decisions import jobs as decisions  # noqa: F401
from accreditor.directory import exports as directory_exports  # noqa: F401
from accreditor.findings import jobs as findings  # noqa: F401
