"""Team appointment checks (rules 3, 5, 37, double booking) and objections (rule 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from accreditor.assessments import services, team
from accreditor.assessments.models import (
    Assessment,
    AuthorisationRole,
    ObjectionStatus,
    TeamAssignment,
    TeamObjection,
)
from accreditor.core.db import commit
from accreditor.core.errors import Conflict, ValidationFailed
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from tests.assessments.assessment_helpers import (
    ASSESSOR,
    END,
    EXPERT,
    LEAD,
    START,
    TODAY,
    assessor,
    authorise,
    cal_setup,
    declare,
    load,
    new_assessment,
)
from tests.factories import (
    CAL_LINE,
    MASS_LINE,
    MS_LINE,
    create_accreditation,
    create_cab,
    create_cab_user,
)


@pytest.fixture
def setup(tenant_a):
    cab, acc, ids = cal_setup(tenant_a, lines=[CAL_LINE, MASS_LINE], related="Metro Holdings plc")
    lead = assessor(tenant_a, "lead@alpha.example.org", name="Lena Lead",
                    role=AuthorisationRole.lead_assessor)
    a = new_assessment(tenant_a, acc, sample=ids)
    return {"cab": cab, "acc": acc, "ids": ids, "lead": lead, "assessment": a}


def check(tenant, assessment, members):
    with tenant_scope(tenant):
        a = db.session.execute(select(Assessment).where(Assessment.id == assessment.id)).scalar_one()
        return team.check_team(a, members)


def codes(result):
    return {p.code for p in result.problems}


def test_a_lead_with_whole_programme_authorisation_passes(tenant_a, setup):
    result = check(tenant_a, setup["assessment"], [(setup["lead"].id, LEAD)])
    assert result.ok, result.messages
    assert all(c.covered_by == [setup["lead"].id] for c in result.coverage.values())


def test_lead_without_lead_authorisation_is_refused(tenant_a, setup):
    plain = assessor(tenant_a, "plain@alpha.example.org", name="Paul Plain")
    result = check(tenant_a, setup["assessment"], [(plain.id, LEAD)])
    problem = next(p for p in result.problems if p.code == "lead_not_authorised")
    assert problem.user_id == plain.id and "Paul Plain" in problem.message
    assert problem.rule is None  # rule 5 is the coverage of the sample, not the lead's role


def test_a_missing_lead_authorisation_is_not_refused_as_rule_5(tenant_a, setup):
    """The plain assessor covers the whole sample: the only reason is the lead authorisation,
    which the refusal names without calling it rule 5 (sample coverage)."""
    plain = assessor(tenant_a, "plain@alpha.example.org", name="Paul Plain")
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == setup["assessment"].id)
                               ).scalar_one()
        with pytest.raises(Conflict) as exc:
            team.propose_team(a, [(plain.id, LEAD)])
    assert exc.value.message.startswith("Refused: Paul Plain holds no current lead assessor "
                                        "authorisation")
    assert "rule 5" not in exc.value.message


def test_a_leads_assessor_authorisation_for_another_area_covers_the_sample(tenant_a, setup):
    """Rule 5: the lead leads on a lead assessor authorisation for pressure, and covers the
    weights line with a current assessor authorisation for mass, as an assessor would."""
    lead = assessor(tenant_a, "pres@alpha.example.org", name="Pia Pressure",
                    role=AuthorisationRole.lead_assessor,
                    area_kind="calibration_discipline", areas=["PRES"])
    assert "not_covered" in codes(check(tenant_a, setup["assessment"], [(lead.id, LEAD)]))
    with tenant_scope(tenant_a):
        authorise(lead, area_kind="calibration_discipline", areas=["MASS"])
        commit()
    result = check(tenant_a, setup["assessment"], [(lead.id, LEAD)])
    assert result.ok, result.messages
    assert result.coverage[setup["ids"][1]].covered_by == [lead.id]


def test_a_lead_still_needs_a_lead_assessor_authorisation(tenant_a, setup):
    """Covering the sample as an assessor does not make someone a lead."""
    mass = assessor(tenant_a, "mass@alpha.example.org", area_kind="calibration_discipline",
                    areas=["MASS", "PRES"])
    result = check(tenant_a, setup["assessment"], [(mass.id, LEAD)])
    assert codes(result) == {"lead_not_authorised"}


def test_a_team_without_a_lead_is_refused(tenant_a, setup):
    plain = assessor(tenant_a, "plain@alpha.example.org")
    assert "lead_required" in codes(check(tenant_a, setup["assessment"], [(plain.id, ASSESSOR)]))


def test_an_authorisation_that_expires_today_does_not_count(tenant_a):
    cab, acc, ids = cal_setup(tenant_a)
    lead = assessor(tenant_a, "lead@alpha.example.org", role=AuthorisationRole.lead_assessor,
                    valid_to=TODAY)
    a = new_assessment(tenant_a, acc, sample=ids, start=TODAY, end=TODAY)
    result = check(tenant_a, a, [(lead.id, LEAD)])
    assert {"lead_not_authorised", "not_covered"} <= codes(result)
    with tenant_scope(tenant_a):
        authorise(lead, role=AuthorisationRole.lead_assessor, valid_to=TODAY + timedelta(days=1))
        commit()
    assert check(tenant_a, a, [(lead.id, LEAD)]).ok


def test_an_uncovered_line_is_named(tenant_a, setup):
    lead = assessor(tenant_a, "pres@alpha.example.org", name="Pia Pressure",
                    role=AuthorisationRole.lead_assessor,
                    area_kind="calibration_discipline", areas=["PRES"])
    result = check(tenant_a, setup["assessment"], [(lead.id, LEAD)])
    problem = next(p for p in result.problems if p.code == "not_covered")
    assert problem.rule == "5" and problem.item_ids == [setup["ids"][1]]
    assert "Weights" in problem.message
    mass = assessor(tenant_a, "mass@alpha.example.org", area_kind="calibration_discipline",
                    areas=["MASS"])
    assert check(tenant_a, setup["assessment"], [(lead.id, LEAD), (mass.id, ASSESSOR)]).ok


def test_a_technical_expert_cannot_be_the_only_competence_for_a_line(tenant_a, setup):
    lead = assessor(tenant_a, "pres@alpha.example.org", role=AuthorisationRole.lead_assessor,
                    area_kind="calibration_discipline", areas=["PRES"])
    te = assessor(tenant_a, "te@alpha.example.org", role=AuthorisationRole.technical_expert,
                  area_kind="calibration_discipline", areas=["MASS"])
    result = check(tenant_a, setup["assessment"], [(lead.id, LEAD), (te.id, EXPERT)])
    problem = next(p for p in result.problems if p.code == "covered_by_expert_only")
    assert problem.item_ids == [setup["ids"][1]] and "Weights" in problem.message
    assert "not_covered" not in codes(result)


def test_a_cluster_authorisation_covers_the_codes_of_the_cluster(tenant_a):
    cab = create_cab(tenant_a, "Certify Ltd")
    acc = create_accreditation(tenant_a, cab, "17021-1", lines=[MS_LINE])  # IAF 28; 34
    lead = assessor(tenant_a, "lead@alpha.example.org", role=AuthorisationRole.lead_assessor,
                    programme="17021-1", area_kind="iaf_code", areas=["cluster:Construction"])
    with tenant_scope(tenant_a):
        ids = list(db.session.execute(select(services.ScopeItem.id)).scalars())
    a = new_assessment(tenant_a, acc, sample=ids)
    assert check(tenant_a, a, [(lead.id, LEAD)]).ok
    other = assessor(tenant_a, "other@alpha.example.org", role=AuthorisationRole.lead_assessor,
                     programme="17021-1", area_kind="iaf_code", areas=["cluster:Food", "28"])
    result = check(tenant_a, a, [(other.id, LEAD)])
    assert "not_covered" in codes(result)  # 34 is not covered


def test_a_consultancy_link_18_months_ago_is_refused_30_months_ago_allowed(tenant_a, setup):
    near = assessor(tenant_a, "near@alpha.example.org", name="Nora Near")
    far = assessor(tenant_a, "far@alpha.example.org", name="Fred Far")
    declare(tenant_a, near, cab=setup["cab"], started_on=START - relativedelta(months=40),
            ended_on=START - relativedelta(months=18))
    declare(tenant_a, far, cab=setup["cab"], started_on=START - relativedelta(months=50),
            ended_on=START - relativedelta(months=30))
    a = setup["assessment"]
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == a.id)).scalar_one()
        team.add_member(a, setup["lead"].id, LEAD)
        with pytest.raises(Conflict) as exc:
            team.add_member(a, near.id, ASSESSOR)
        assert "rule 3" in exc.value.message and "Nora Near" in exc.value.message
        assert "consultancy" in exc.value.message and "2-year" in exc.value.message
        team.add_member(a, far.id, ASSESSOR)
        commit()
    result = check(tenant_a, a, [(setup["lead"].id, LEAD), (far.id, ASSESSOR)])
    assert result.ok


def test_a_link_with_a_related_body_counts(tenant_a, setup):
    person = assessor(tenant_a, "rel@alpha.example.org")
    declare(tenant_a, person, kind="employment", organisation="metro holdings",
            started_on=START - relativedelta(years=5), ended_on=None)
    result = check(tenant_a, setup["assessment"], [(setup["lead"].id, LEAD), (person.id, ASSESSOR)])
    problem = next(p for p in result.problems if p.code == "conflict_of_interest")
    assert problem.user_id == person.id and "related" in problem.message


def test_a_link_with_a_related_cab_picked_from_the_list_counts(tenant_a, setup):
    """Rule 3: the declaration names another CAB of the tenant (not free text); this CAB lists
    it as related, by its legal name or a trading name."""
    holding = create_cab(tenant_a, "Metro Holdings plc")
    group = create_cab(tenant_a, "MH Group Ltd", trading_names=["Metro Holdings"])
    stranger = create_cab(tenant_a, "Unrelated Gauges Ltd")
    people = [assessor(tenant_a, f"{x}@alpha.example.org", name=f"Person {x}")
              for x in ("one", "two", "three")]
    for person, cab in zip(people, (holding, group, stranger), strict=True):
        declare(tenant_a, person, kind="employment", cab=cab,
                started_on=START - relativedelta(years=5), ended_on=None)
    result = check(tenant_a, setup["assessment"],
                   [(setup["lead"].id, LEAD)] + [(p.id, ASSESSOR) for p in people])
    found = {p.user_id: p for p in result.problems if p.code == "conflict_of_interest"}
    assert set(found) == {people[0].id, people[1].id}
    assert "Metro Holdings plc, a body related to the CAB" in found[people[0].id].message
    assert "MH Group Ltd, a body related to the CAB" in found[people[1].id].message
    assert found[people[0].id].rule == "3"
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == setup["assessment"].id)
                               ).scalar_one()
        with pytest.raises(Conflict) as exc:
            team.add_member(a, people[1].id, ASSESSOR)
    assert "rule 3" in exc.value.message and "MH Group Ltd" in exc.value.message


def test_a_person_on_an_overlapping_assessment_is_double_booked(tenant_a, setup):
    a = setup["assessment"]
    other = new_assessment(tenant_a, setup["acc"], start=END, end=END + timedelta(days=1))
    with tenant_scope(tenant_a):
        other = db.session.execute(select(Assessment).where(Assessment.id == other.id)).scalar_one()
        team.add_member(other, setup["lead"].id, LEAD)
        commit()
    result = check(tenant_a, a, [(setup["lead"].id, LEAD)])
    problem = next(p for p in result.problems if p.code == "double_booked")
    assert f"#{other.id}" in problem.message
    with tenant_scope(tenant_a):
        services.cancel_assessment(
            db.session.execute(select(Assessment).where(Assessment.id == other.id)).scalar_one(),
            "moved")
        commit()
    assert check(tenant_a, a, [(setup["lead"].id, LEAD)]).ok


def test_a_lead_whose_monitoring_is_too_old_is_refused(tenant_a, setup):
    old = assessor(tenant_a, "old@alpha.example.org", role=AuthorisationRole.lead_assessor,
                   monitored_on=START - relativedelta(months=37))
    result = check(tenant_a, setup["assessment"], [(old.id, LEAD)])
    problem = next(p for p in result.problems if p.code == "lead_monitoring_stale")
    assert problem.rule == "37"
    # As an assessor the same person is fine (rule 37 is about leads).
    result = check(tenant_a, setup["assessment"], [(setup["lead"].id, LEAD), (old.id, ASSESSOR)])
    assert result.ok


def test_check_team_uses_a_fixed_number_of_queries(tenant_a, count_queries):
    lines = [{**CAL_LINE, "quantity": f"Gauge {i}"} for i in range(40)]
    cab, acc, ids = cal_setup(tenant_a, lines=lines)
    lead = assessor(tenant_a, "lead@alpha.example.org", role=AuthorisationRole.lead_assessor)
    people = [assessor(tenant_a, f"p{i}@alpha.example.org") for i in range(4)]
    other = create_cab(tenant_a, "Other Lab Ltd")
    for p in people:  # declarations naming a CAB from the list: their names come in the same query
        declare(tenant_a, p, cab=other, started_on=START - relativedelta(years=1), ended_on=None)
    small = new_assessment(tenant_a, acc, sample=ids[:2])
    big = new_assessment(tenant_a, acc, sample=ids, start=START + timedelta(days=10),
                         end=END + timedelta(days=10))
    with tenant_scope(tenant_a):
        a1, a2 = (db.session.execute(select(Assessment).where(Assessment.id == x.id)).scalar_one()
                  for x in (small, big))
        small_team = [(lead.id, LEAD)]
        big_team = small_team + [(p.id, ASSESSOR) for p in people]
        with count_queries() as q1:
            team.check_team(a1, small_team)
        with count_queries() as q2:
            team.check_team(a2, big_team)
    assert q1.count == q2.count <= 10, "\n".join(q2.statements)


# -- propose, window, objections ----------------------------------------------------------------


def proposed(tenant, setup, *members):
    with tenant_scope(tenant):
        a = db.session.execute(select(Assessment).where(Assessment.id == setup["assessment"].id)
                               ).scalar_one()
        team.propose_team(a, list(members) or [(setup["lead"].id, LEAD)])
        commit()
    return a


def test_proposing_notifies_the_cab_with_names_organisations_and_deadline(tenant_a, setup, outbox):
    create_cab_user(tenant_a, setup["cab"], "cab@precision.example.org")
    a = proposed(tenant_a, setup)
    assert a.status == "team_proposed"
    assert a.objection_window_ends_on == TODAY + timedelta(days=10)
    mail = outbox("cab@precision.example.org")[-1]
    assert "Lena Lead" in mail.text_body and "NAB" in mail.text_body
    assert (TODAY + timedelta(days=10)).isoformat() in mail.text_body


def test_proposing_a_failing_team_lists_every_problem(tenant_a, setup):
    plain = assessor(tenant_a, "plain@alpha.example.org", name="Paul Plain")
    declare(tenant_a, plain, cab=setup["cab"], started_on=START - relativedelta(months=40),
            ended_on=START - relativedelta(months=18))  # consultancy within the 2-year look-back
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == setup["assessment"].id)
                               ).scalar_one()
        with pytest.raises(Conflict) as exc:
            team.propose_team(a, [(plain.id, LEAD)])
    msg = exc.value.message
    assert "lead assessor authorisation" in msg  # the first problem ...
    assert "consultancy" in msg and "2-year" in msg and "Paul Plain" in msg  # ... and the second


def test_confirming_before_the_window_closes_is_refused_unless_waived(tenant_a, setup):
    a = proposed(tenant_a, setup)
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == a.id)).scalar_one()
        with pytest.raises(Conflict) as exc:
            team.confirm_team(a)
        assert "rule 4" in exc.value.message
        team.confirm_team(a, today=a.objection_window_ends_on + timedelta(days=1))
        assert a.status == "team_confirmed"


def test_a_waived_window_allows_confirmation(tenant_a, setup):
    a = proposed(tenant_a, setup)
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == a.id)).scalar_one()
        with pytest.raises(ValidationFailed):
            team.waive_objection_window(a, " ")
        team.waive_objection_window(a, "CAB accepted the team by letter of 3 March")
        team.confirm_team(a)
        assert a.status == "team_confirmed"


def test_confirming_a_team_that_leaves_a_sampled_line_uncovered_is_refused(tenant_a):
    cab, acc, ids = cal_setup(tenant_a, lines=[CAL_LINE, MASS_LINE])
    lead = assessor(tenant_a, "pres@alpha.example.org", role=AuthorisationRole.lead_assessor,
                    area_kind="calibration_discipline", areas=["PRES"])
    a = new_assessment(tenant_a, acc, sample=ids[:1])
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == a.id)).scalar_one()
        team.propose_team(a, [(lead.id, LEAD)])
        team.waive_objection_window(a, "agreed")
        services.set_sample(a, ids)  # the weights line joins the sample
        with pytest.raises(Conflict) as exc:
            team.confirm_team(a)
    assert "rule 5" in exc.value.message and "Weights" in exc.value.message


def test_an_objection_after_the_window_is_refused(tenant_a, setup):
    a = proposed(tenant_a, setup)
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == a.id)).scalar_one()
        with pytest.raises(ValidationFailed):
            team.raise_objection(a, setup["lead"].id, "  ")
        with pytest.raises(Conflict):
            team.raise_objection(a, setup["lead"].id, "Worked for our competitor",
                                 today=a.objection_window_ends_on + timedelta(days=1))
        objection = team.raise_objection(a, setup["lead"].id, "Worked for our competitor",
                                         today=a.objection_window_ends_on)
        assert objection.status == "open"


def test_no_objection_to_a_cancelled_assessment_even_inside_the_window(tenant_a, setup):
    a = proposed(tenant_a, setup)
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == a.id)).scalar_one()
        services.cancel_assessment(a, "CAB asked to postpone")
        commit()
        assert team.window_open(a)
        with pytest.raises(Conflict) as refused:
            team.raise_objection(a, setup["lead"].id, "Worked for our competitor")
    assert refused.value.code == "not_objectable"


def test_an_upheld_objection_removes_the_member_and_returns_the_assessment_to_draft(
        tenant_a, setup):
    second = assessor(tenant_a, "second@alpha.example.org")
    a = proposed(tenant_a, setup, (setup["lead"].id, LEAD), (second.id, ASSESSOR))
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == a.id)).scalar_one()
        objection = team.raise_objection(a, second.id, "Audited our competitor last month")
        with pytest.raises(Conflict):
            team.confirm_team(a, today=a.objection_window_ends_on + timedelta(days=1))
        team.resolve_objection(objection, True, "Replaced.")
        assert objection.status == ObjectionStatus.upheld
        assert a.status == "draft"
        members = db.session.execute(select(TeamAssignment.user_id).where(
            TeamAssignment.assessment_id == a.id)).scalars().all()
        assert members == [setup["lead"].id]


def test_a_dismissed_objection_keeps_the_team(tenant_a, setup):
    a = proposed(tenant_a, setup)
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == a.id)).scalar_one()
        objection = team.raise_objection(a, setup["lead"].id, "Too strict")
        team.resolve_objection(objection, False, "Not a ground for replacement.")
        assert a.status == "team_proposed" and objection.status == "dismissed"
        assert db.session.execute(select(TeamObjection)).scalars().one().resolved_at


def test_assessment_models_are_loaded_in_tenant(tenant_a, setup):
    assert load(tenant_a, Assessment, setup["assessment"].id).status == "draft"
