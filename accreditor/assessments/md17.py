"""The IAF MD 17 witnessing matrix of a 17021-1 accreditation (DOMAIN.md §2.1, rule 34): which
codes of the live scope are witnessed, due soon, overdue or never witnessed. The witness records
it reads are :mod:`accreditor.assessments.witness`'s.

Due status (:func:`matrix`; ⚙ TenantPolicy ``witness_code_cycle_years`` = N,
``witness_due_soon_days`` = D):

* only witnesses whose outcome is satisfactory or "findings raised" count; an *unsatisfactory*
  witness (the CAB's competence could not be confirmed) needs a new witness. Partial and remote
  witnesses count: MD 17 defines witnessing as observing "all of the audit or relevant parts",
  "on site … or remotely";
* a **critical** code must itself be witnessed every N years: due on = last witness + N years;
  ``overdue`` when due on < today, ``due soon`` when today ≥ due on − D days, else ``ok``;
  ``never`` (always a problem: MD 17 wants a witness in a critical code before it is granted)
  when it has no witness;
* a **non-critical** code is covered through its cluster: at least one code of the cluster
  (critical ones included, for the same standard) witnessed every N years; the code shows the
  cluster's status, ``never`` when no code of the cluster was ever witnessed. The cluster's
  witness propagates only while every critical code of the cluster (same standard) is current
  (ok or due soon); otherwise the code shows its own last witness (``never`` without one);
* clusters are the tenant's MD 17 clusters (reference lists, editable per tenant) at the time the
  matrix is computed; a witness counts for the cluster its code belongs to now. Codes without a
  cluster form a cluster of their own.

The matrix and :func:`overdue_critical` run a fixed number of queries whatever the scope size.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import func, select

from accreditor.assessments.models import Witness, WitnessActivity
from accreditor.assessments.witness import (
    COUNTING_OUTCOMES,
    ScopeAreas,
    scope_areas,
    scope_type_of,
)
from accreditor.extensions import db
from accreditor.refdata.models import ScopeType, TermKind
from accreditor.scopes.models import Accreditation
from accreditor.tenants.models import TenantPolicy


class DueStatus(StrEnum):
    ok = "ok"
    due_soon = "due_soon"
    overdue = "overdue"
    never = "never"


CURRENT = (DueStatus.ok, DueStatus.due_soon)


@dataclass
class CodeRow:
    standard: str
    cluster: str
    kind: str  # a TermKind value, or "standard" for a line without codes
    code: str
    name: str
    is_critical: bool
    line_status: str
    last_witnessed_on: date | None  # this code's own last counting witness
    status: DueStatus = DueStatus.never
    due_on: date | None = None
    via_cluster: bool = False  # a non-critical code: the status is its cluster's
    critical_not_current: bool = False  # not propagated: a critical code of the cluster is not

    @property
    def problem(self) -> bool:
        return self.status in (DueStatus.overdue, DueStatus.never)


@dataclass
class ClusterRow:
    standard: str
    cluster: str
    codes: list[CodeRow]
    last_witnessed_on: date | None
    status: DueStatus
    due_on: date | None

    @property
    def problem(self) -> bool:
        return self.status in (DueStatus.overdue, DueStatus.never)


@dataclass
class Matrix:
    today: date
    cycle_years: int
    due_soon_days: int
    clusters: list[ClusterRow]

    @property
    def rows(self) -> list[CodeRow]:
        return [r for c in self.clusters for r in c.codes]

    def count(self, status: DueStatus) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def critical_problems(self) -> list[CodeRow]:
        return [r for r in self.rows if r.is_critical and r.problem]


def due_status(last: date | None, *, today: date, cycle_years: int, due_soon_days: int
               ) -> tuple[DueStatus, date | None]:
    """(status, due date) of something last witnessed on ``last`` (module docstring)."""
    if last is None:
        return DueStatus.never, None
    due = last + relativedelta(years=cycle_years)
    if due < today:
        return DueStatus.overdue, due
    if today >= due - timedelta(days=due_soon_days):
        return DueStatus.due_soon, due
    return DueStatus.ok, due


def code_key(code: str):
    return (0, int(code), "") if code.isdigit() else (1, 0, code)


def natural_key(text: str) -> list:
    """"ISO 9001" before "ISO 14001": digit runs compare as numbers."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", text)]


def last_witnesses(accreditation: Accreditation) -> dict[tuple[str, str, str], date]:
    """The last counting MS-audit witness date per (standard, kind, code), one query; kind
    "standard" (code "") for witnesses that name no code."""
    rows = db.session.execute(
        select(Witness.standard, Witness.iaf_code, Witness.category,
               func.max(Witness.witnessed_on))
        .where(Witness.accreditation_id == accreditation.id,
               Witness.activity == WitnessActivity.ms_audit.value,
               Witness.outcome.in_(COUNTING_OUTCOMES))
        .group_by(Witness.standard, Witness.iaf_code, Witness.category)).all()
    out: dict[tuple[str, str, str], date] = {}

    def keep(key, on):
        if key not in out or out[key] < on:
            out[key] = on

    for standard, iaf, category, on in rows:
        standard = standard or ""
        if iaf:
            keep((standard, TermKind.iaf_code.value, iaf), on)
        if category:
            keep((standard, "category", category), on)
        keep((standard, "standard", ""), on)  # any witness of the standard
    return out


def matrix(accreditation: Accreditation, *, today: date | None = None,
           policy: TenantPolicy | None = None) -> Matrix:
    """The MD 17 coverage matrix of a 17021-1 accreditation: standard × cluster × code of the
    live scope, critical flags, last witness dates and due statuses (module docstring)."""
    today = today or date.today()
    policy = policy or TenantPolicy.current()
    years, soon = policy.witness_code_cycle_years, policy.witness_due_soon_days
    areas = scope_areas(accreditation, ScopeType.ms_certification)
    last = last_witnesses(accreditation)
    clusters: list[ClusterRow] = []
    for standard in sorted(areas.standards, key=natural_key):
        area = areas.standards[standard]
        groups: dict[str, list[CodeRow]] = defaultdict(list)
        for kind, codes in area.codes.items():
            for code, line_status in codes.items():
                term = areas.term(kind, code)
                cluster = (term.group if term is not None and term.group else
                           _("IAF %(c)s (no cluster)", c=code) if kind == TermKind.iaf_code
                           else _("%(c)s (no cluster)", c=code))
                key = kind.value if kind == TermKind.iaf_code else "category"
                groups[cluster].append(CodeRow(
                    standard, cluster, kind.value, code, term.name if term is not None else code,
                    bool(term is not None and term.is_critical), line_status,
                    last.get((standard, key, code))))
        if area.whole is not None:
            cluster = _("Whole standard")
            groups[cluster].append(CodeRow(standard, cluster, "standard", "", standard, False,
                                           area.whole, last.get((standard, "standard", ""))))
        # Witnesses of codes no longer in scope still show the cluster's competence.
        extra = _witnessed_elsewhere(areas, standard, last)
        for cluster in sorted(groups, key=str.lower):
            rows = sorted(groups[cluster], key=lambda r: code_key(r.code))
            dates = [r.last_witnessed_on for r in rows if r.last_witnessed_on]
            dates += extra.get(cluster, [])
            cluster_last = max(dates) if dates else None
            c_status, c_due = due_status(cluster_last, today=today, cycle_years=years,
                                         due_soon_days=soon)
            for r in rows:
                if r.is_critical or r.kind == "standard":
                    r.status, r.due_on = due_status(r.last_witnessed_on, today=today,
                                                    cycle_years=years, due_soon_days=soon)
            # MD 17 (DOMAIN.md §2.1): a witness propagates to the non-critical codes of its
            # cluster only while every critical code of that cluster is current.
            current = all(r.status in CURRENT for r in rows if r.is_critical)
            for r in rows:
                if r.is_critical or r.kind == "standard":
                    continue
                if current:
                    r.status, r.due_on, r.via_cluster = c_status, c_due, True
                else:
                    r.status, r.due_on = due_status(r.last_witnessed_on, today=today,
                                                    cycle_years=years, due_soon_days=soon)
                    r.critical_not_current = True
            clusters.append(ClusterRow(standard, cluster, rows, cluster_last, c_status, c_due))
    return Matrix(today, years, soon, clusters)


def _witnessed_elsewhere(areas: ScopeAreas, standard: str, last: dict) -> dict[str, list[date]]:
    """Witness dates of codes of ``standard`` that are not (or no longer) in its scope, by the
    cluster the code belongs to now."""
    area = areas.standards[standard]
    out: dict[str, list[date]] = defaultdict(list)
    for (std, kind, code), on in last.items():
        if std != standard or kind == "standard":
            continue
        if kind == TermKind.iaf_code.value:
            if code in area.codes.get(TermKind.iaf_code, {}):
                continue
            term = areas.term(TermKind.iaf_code, code)
        else:
            if code in area.codes.get(TermKind.food_chain, {}) or \
                    code in area.codes.get(TermKind.md9_area, {}):
                continue
            term = areas.term(TermKind.food_chain, code) or areas.term(TermKind.md9_area, code)
        if term is not None and term.group:
            out[term.group].append(on)
    return out


def overdue_critical(accreditation: Accreditation, *, today: date | None = None) -> list[CodeRow]:
    """The critical codes of a 17021-1 accreditation's live scope that are overdue or were never
    witnessed (rule 34), for the decision screen and reminders; [] for other programmes."""
    if scope_type_of(accreditation) != ScopeType.ms_certification:
        return []
    return matrix(accreditation, today=today).critical_problems
