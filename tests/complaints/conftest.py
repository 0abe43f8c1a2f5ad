"""An accredited calibration laboratory with an assessment team (from the findings tests), its CAB
user, a manager, a decision maker on no team, and a second accredited CAB with its own user:
what the complaint tests build on."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from accreditor.complaints import services
from accreditor.complaints.models import Complaint, ComplaintStatus
from accreditor.core.db import commit
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.extensions import limiter as _limiter
from tests.factories import create_member
from tests.findings.conftest import World, build_world

_ips = itertools.count(1)


def fresh_ip() -> str:
    """A client address no other test used (the limiter's memory outlives a test)."""
    n = next(_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


@pytest.fixture(autouse=True)
def _reset_limiter():
    _limiter.reset()
    yield


@dataclass
class CW:
    w: World
    other: World
    decider: object
    admin: object

    @property
    def tenant(self):
        return self.w.tenant

    def file(self, *, subject: str = "cab", cab=None, consent: bool = False, today=None,
             **kw) -> Complaint:
        """A complaint received through the public form (as the system)."""
        data = {"subject": subject, "cab_id": (cab or self.w.cab).id if subject == "cab" else None,
                "complainant_name": "Carla Complainant",
                "complainant_email": "carla@example.net",
                "complainant_phone": "+44 20 7946 0000",
                "complainant_organisation": "Carla's Bakery",
                "what_happened": "The calibration certificate had the wrong uncertainty.",
                "event_on": date.today() - timedelta(days=10),
                "desired_outcome": "A corrected certificate.", "consent_to_share": consent}
        data.update(kw)
        with tenant_scope(self.tenant):
            c = services.receive_complaint(**data, today=today)
            commit()
            return c

    def load(self, ident) -> Complaint:
        db.session.expire_all()
        with tenant_scope(self.tenant):
            return db.session.execute(select(Complaint).where(Complaint.id == ident)).scalar_one()

    def step(self, ident, fn, *args, **kw) -> Complaint:
        """Run a service as the system on the complaint, commit, and return it reloaded."""
        with tenant_scope(self.tenant):
            fn(self.load(ident), *args, **kw)
            commit()
        return self.load(ident)

    def to_investigation(self, c: Complaint, *, investigator=None) -> Complaint:
        """Acknowledge, refer, record the CAB's answer, and start the investigation."""
        c = self.step(c.id, services.acknowledge)
        if c.about_cab:
            c = self.step(c.id, services.refer_to_cab)
            c = self.step(c.id, services.respond_as_cab, text="We corrected the certificate.")
        return self.step(c.id, services.start_investigation,
                         investigator_id=(investigator or self.w.outsider).id)

    def to_proposed(self, c: Complaint, **kw) -> Complaint:
        c = self.to_investigation(c, **kw)
        return self.step(c.id, services.propose_decision, outcome="partly_upheld",
                         decision_text="The certificate was wrong; the CAB corrected it.",
                         actions="Follow up at the next surveillance.")


@pytest.fixture
def cw(tenant_a, admin_a) -> CW:
    w = build_world(tenant_a)
    other = build_world(tenant_a, prefix="o-", legal_name="Other Metrology Ltd")
    decider = create_member(tenant_a, "decider@alpha.example.org", [Role.decision_maker],
                            name="Dana Decider")
    return CW(w, other, decider, admin_a)


@pytest.fixture
def in_each_state(cw) -> dict:
    """One complaint in every state."""
    S = ComplaintStatus
    out = {S.received: cw.file()}
    out[S.acknowledged] = cw.step(cw.file().id, services.acknowledge)
    c = cw.step(cw.file().id, services.acknowledge)
    out[S.referred] = cw.step(c.id, services.refer_to_cab)
    out[S.investigating] = cw.to_investigation(cw.file())
    out[S.decision_proposed] = cw.to_proposed(cw.file())
    c = cw.to_proposed(cw.file())
    out[S.decision_approved] = cw.step(c.id, services.approve_decision,
                                       approved_by_id=cw.decider.id)
    c = cw.to_proposed(cw.file())
    c = cw.step(c.id, services.approve_decision, approved_by_id=cw.decider.id)
    out[S.closed] = cw.step(c.id, services.close_complaint)
    out[S.rejected] = cw.step(cw.file().id, services.reject_complaint, reason="Not ours.")
    out[S.withdrawn] = cw.step(cw.file().id, services.withdraw_complaint, note="By phone.")
    assert {s: c.status for s, c in out.items()} == {s: s.value for s in out}
    return out


def post_public(client, cw_or_slug, data: dict, ip: str | None = None):
    slug = cw_or_slug if isinstance(cw_or_slug, str) else cw_or_slug.tenant.slug
    return client.post(f"/{slug}/complaints/new", data=data,
                       environ_base={"REMOTE_ADDR": ip or fresh_ip()})


def form_data(cw: CW, **kw) -> dict:
    data = {"subject": "cab", "cab_id": str(cw.w.cab.id), "complainant_name": "Carla Complainant",
            "complainant_email": "carla@example.net", "complainant_phone": "",
            "complainant_organisation": "", "what_happened": "Wrong uncertainty on a certificate.",
            "event_on": (date.today() - timedelta(days=3)).isoformat(),
            "desired_outcome": "A corrected certificate."}
    data.update(kw)
    return data


def count_complaints(tenant) -> int:
    db.session.expire_all()
    with tenant_scope(tenant):
        return len(db.session.execute(select(Complaint.id)).all())
