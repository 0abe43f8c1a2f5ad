"""``flask demo``: what the README's walkthrough promises is really there, and loading twice adds
nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from accreditor.assessments import md17, witness
from accreditor.assessments import team as team_services
from accreditor.assessments.models import (
    Assessment,
    AssessmentStatus,
    AssessorAuthorisation,
    InterestDeclaration,
    TeamAssignment,
    TeamRole,
    Witness,
)
from accreditor.auth.models import User
from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.demo import load_demo
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation
from accreditor.tenants.models import Tenant

TEAM_PROBLEMS = {"double_booked", "lead_not_authorised", "role_not_authorised", "not_covered"}


def _counts() -> tuple[int, ...]:
    return tuple(db.session.execute(select(func.count()).select_from(m)).scalar_one()
                 for m in (Assessment.__table__, Witness.__table__,
                           AssessorAuthorisation.__table__, InterestDeclaration.__table__))


def test_demo_has_programmes_witnesses_and_a_conflicting_declaration_per_tenant(app):
    load_demo()
    commit()
    today = date.today()
    tenants = db.session.execute(select(Tenant).order_by(Tenant.slug)).scalars().all()
    assert [t.slug for t in tenants] == ["gac", "nab"]
    for tenant in tenants:
        with tenant_scope(tenant):
            accs = db.session.execute(
                select(Accreditation).options(selectinload(Accreditation.cab))).scalars().all()
            live = [a for a in accs if a.is_live]
            assert len(live) >= 6
            rows = db.session.execute(select(Assessment)).scalars().all()
            for acc in live:
                mine = [a for a in rows if a.accreditation_id == acc.id]
                assert any(a.planned_start_on > today for a in mine), acc.cab.legal_name
                if acc.cycle_start_on is not None:  # applicants have no past yet
                    assert any(a.status == AssessmentStatus.closed and a.planned_end_on < today
                               for a in mine), acc.cab.legal_name
            # The calibration lab's next visit has its team proposed to the CAB.
            assert any(a.status == AssessmentStatus.team_proposed for a in rows)
            # Victor's consultancy for Assured ended 14 months ago: refused (rule 3).
            victor = db.session.execute(
                select(User).where(User.email == f"victor@{tenant.slug}.example.org")
            ).scalar_one()
            assured = next(a for a in live if a.cab.legal_name.startswith("Assured"))
            nxt = next(a for a in sorted(rows, key=lambda a: a.planned_start_on)
                       if a.accreditation_id == assured.id and a.planned_start_on > today
                       and a.type == "surveillance")
            result = team_services.check_team(nxt, [(victor.id, TeamRole.assessor)])
            assert any(p.rule == "3" and p.user_id == victor.id for p in result.problems)
            # Every demo witness was recorded through the witness service, with its checks.
            rows_w = db.session.execute(select(Witness)).scalars().all()
            assert len(rows_w) == 8  # Meridian 4, Assured 4: none refused
            for w in rows_w:
                assert w.audit_type in witness.AUDIT_TYPES and w.place, w.id
            # Meridian: ISO 9001 code 28 last witnessed over five years ago.
            meridian = next(a for a in live if a.cab.legal_name.startswith("Meridian"))
            last_28 = db.session.execute(
                select(func.max(Witness.witnessed_on)).where(
                    Witness.accreditation_id == meridian.id, Witness.iaf_code == "28",
                    Witness.standard == "ISO 9001:2015")).scalar_one()
            assert (today - last_28).days > 5 * 365
            # ... which the MD 17 matrix flags as the one overdue critical code.
            assert [(r.standard, r.code, r.status) for r in md17.overdue_critical(meridian)] \
                == [("ISO 9001:2015", "28", "overdue")]
            assert md17.overdue_critical(assured) == []
            # Every demo team passes the team check's booking, lead and coverage rules.
            teams = {a.id: team_services.members_of(a) for a in rows}
            problems = [(a.id, a.type, a.planned_start_on.isoformat(), p.code, p.message)
                        for a in rows if teams[a.id]
                        for p in team_services.check_team(a, teams[a.id]).problems
                        if p.code in TEAM_PROBLEMS]
            assert problems == [], "\n".join(map(str, problems))
    # Freya assesses for both tenants: her visits in one never overlap those in the other.
    freya = db.session.execute(
        select(User).where(User.email == "freelance@assessors.example.org")).scalar_one()
    visits = []
    for tenant in tenants:
        with tenant_scope(tenant):
            visits.append(db.session.execute(
                select(Assessment.planned_start_on, Assessment.planned_end_on)
                .join(TeamAssignment, TeamAssignment.assessment_id == Assessment.id)
                .where(TeamAssignment.user_id == freya.id)).all())
    assert visits[0] and visits[1]
    assert not [(a, b) for a in visits[0] for b in visits[1] if a[0] <= b[1] and b[0] <= a[1]]
    before = _counts()
    load_demo()
    commit()
    assert _counts() == before


def test_demo_has_findings_in_every_state_and_an_overdue_major(app):
    from accreditor.documents.models import Document
    from accreditor.findings.models import Finding, FindingResponse, SanctionProposal

    load_demo()
    commit()
    today = date.today()
    for slug in ("nab", "gac"):
        tenant = db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one()
        with tenant_scope(tenant):
            findings = db.session.execute(select(Finding)).scalars().all()
            assert {f.status for f in findings} == {
                "draft", "recorded", "open", "responded", "plan_accepted", "closed",
                "withdrawn"}, slug
            overdue = [f for f in findings if f.overdue_on(today)]
            assert [f.severity for f in overdue] == ["major"]
            assert overdue[0].overdue_since == today
            rounds = db.session.execute(select(FindingResponse.finding_id, FindingResponse.round,
                                               FindingResponse.outcome)
                                        .order_by(FindingResponse.id)).all()
            by_finding: dict[int, list] = {}
            for fid, _round, outcome in rounds:
                by_finding.setdefault(fid, []).append(outcome)
            assert ["rejected", "accepted"] in by_finding.values()
            evidence = db.session.execute(select(func.count(Document.id)).where(
                Document.owner_type == "finding_response")).scalar_one()
            assert evidence >= 4
            proposals = db.session.execute(select(SanctionProposal.source)).scalars().all()
            assert proposals == (["critical_finding"] if slug == "gac" else [])
    nab = db.session.execute(select(Tenant).where(Tenant.slug == "nab")).scalar_one()
    with tenant_scope(nab):
        before = db.session.execute(select(func.count(Finding.id))).scalar_one()
    load_demo()  # again: nothing added
    commit()
    with tenant_scope(nab):
        assert db.session.execute(select(func.count(Finding.id))).scalar_one() == before == 9


def test_demo_history_has_its_decisions_and_the_open_report_awaits_one(app):
    from accreditor.decisions import services as decisions
    from accreditor.decisions.models import Decision, ScheduleVersion

    load_demo()
    commit()
    for slug in ("nab", "gac"):
        tenant = db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one()
        with tenant_scope(tenant):
            assert db.session.execute(select(func.count(Decision.id))).scalar_one() > 5
            queued = decisions.queue()
            assert [(a.type, a.status) for a in queued] == [("special", "report_issued")]
            live = db.session.execute(select(func.count(Accreditation.id)).where(
                Accreditation.initial_grant_on.is_not(None))).scalar_one()
            issued = db.session.execute(select(func.count(func.distinct(
                ScheduleVersion.accreditation_id)))).scalar_one()
            assert issued == live  # every accreditation ever granted has its schedule


def test_demo_decisions_have_their_pdfs_and_a_complaint_and_an_appeal_are_in_progress(
        app, render_pdfs):
    from accreditor.appeals.models import Appeal
    from accreditor.certificates.models import RenderedDocument
    from accreditor.complaints.models import Complaint
    from accreditor.decisions.models import Decision, ScheduleVersion
    from accreditor.directory.models import DirectoryEntry

    load_demo()
    commit()  # the PDFs render after the commit (in-process without Redis)
    for slug in ("nab", "gac"):
        tenant = db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one()
        with tenant_scope(tenant):
            taken = db.session.execute(select(Decision).where(
                Decision.rationale.not_like("Recorded from the paper file%"))).scalars().all()
            kinds = {(d.kind, d.extent) for d in taken}
            assert {("grant", None), ("extend", None), ("suspend", "partial"),
                    ("reinstate", None), ("withdraw", None)} <= kinds
            for d in taken:
                if d.kind == "suspend" and d.extent == "full":
                    continue  # the suspension the withdrawal then ended
                version = db.session.execute(select(ScheduleVersion).where(
                    ScheduleVersion.decision_id == d.id)).scalar_one()
                rendered = db.session.execute(select(RenderedDocument.kind).where(
                    RenderedDocument.schedule_version_id == version.id)).scalars().all()
                assert sorted(rendered) == ["certificate", "schedule"], d.kind
            [appeal] = db.session.execute(select(Appeal)).scalars().all()
            assert appeal.status == "under_review" and appeal.decision_id is not None
            [complaint] = db.session.execute(select(Complaint)).scalars().all()
            assert complaint.status == "referred"
            published = db.session.execute(select(func.count(DirectoryEntry.id))).scalar_one()
            granted = db.session.execute(select(func.count(Accreditation.id)).where(
                Accreditation.initial_grant_on.is_not(None))).scalar_one()
            assert published == granted
