"""Every model module, imported once at app start so metadata (and Alembic) sees all tables."""

from accreditor.appeals import models as appeals  # noqa: F401
from accreditor.applications import models as applications  # noqa: F401
from accreditor.assessments import models as assessments  # noqa: F401
from accreditor.auth import models as auth  # noqa: F401
from accreditor.cabs import models as cabs  # noqa: F401
from accreditor.certificates import models as certificates  # noqa: F401
from accreditor.complaints import models as complaints  # noqa: F401
from accreditor.core import audit, jobs, mail  # noqa: F401
from accreditor.decisions import models as decisions  # noqa: F401
from accreditor.directory import export_models as directory_exports  # noqa: F401
from accreditor.directory import models as directory  # noqa: F401
from accreditor.documents import models as documents  # noqa: F401
from accreditor.findings import models as findings  # noqa: F401
from accreditor.refdata import models as refdata  # noqa: F401
from accreditor.scopes import models as scopes  # noqa: F401
from accreditor.tenants import models as tenants  # noqa: F401
