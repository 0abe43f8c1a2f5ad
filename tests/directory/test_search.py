"""The directory search engine (issue 7 point 6): the same tests run on SQLite (FTS5) and, with
TEST_DATABASE_URL, on PostgreSQL (tsvector + pg_trgm) and assert the same entries in the same
order."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.directory import search
from accreditor.directory.models import (
    DirectoryEntry,
    DirectoryLine,
    DirectorySearch,
    DirectorySearchCount,
    DirectorySearchValue,
)
from accreditor.extensions import db
from tests.directory.conftest import accredited
from tests.factories import create_accreditation, create_cab

TODAY = date.today()
PROGRAMMES = {
    "testing": ("17025-T", "Testing laboratories", "ISO/IEC 17025", "2017"),
    "calibration": ("17025-C", "Calibration laboratories", "ISO/IEC 17025", "2017"),
    "inspection": ("17020", "Inspection bodies", "ISO/IEC 17020", "2012"),
    "ms_certification": ("17021-1", "Management system certification", "ISO/IEC 17021-1",
                         "2015"),
    "person_certification": ("17024", "Certification of persons", "ISO/IEC 17024", "2012"),
}


def put(tenant, name: str, number: str, scope_type: str = "testing", lines=(), *,
        status: str = "accredited", ended_on: date | None = None, trading=(),
        country: str = "GB", place: str = "Head office") -> int:
    """A directory entry written as publish writes one, then indexed as publish indexes it."""
    cab = create_cab(tenant, f"{name} {number}", country=country)
    acc = create_accreditation(tenant, cab, "17025-C")
    code, pname, standard, edition = PROGRAMMES[scope_type]
    with tenant_scope(tenant):
        entry = DirectoryEntry(
            cab_id=cab.id, accreditation_id=acc.id, number=number, legal_name=name,
            trading_names=list(trading), country=country,
            locations=[{"code": "A", "name": place, "address": "1 Test Street, Town",
                        "country": country, "kind": "permanent"}],
            contacts=[], programme_code=code, programme_name=pname, scope_type=scope_type,
            standard=standard, edition=edition, status=status,
            status_since=ended_on or date(2024, 1, 1), initial_grant_on=date(2024, 1, 1),
            schedule_issue_no=1, schedule_issued_on=date(2024, 1, 1), ended_on=ended_on,
            visible_until=ended_on + relativedelta(months=12) if ended_on else None,
            digest="-", lines_digest="-", lines_total=len(lines))
        db.session.add(entry)
        db.session.flush()
        rows = [{"position": i, "status": "accredited", "summary": summary, "fields": fields}
                for i, (summary, fields) in enumerate(lines, start=1)]
        db.session.add_all([DirectoryLine(entry_id=entry.id, **r) for r in rows])
        db.session.flush()
        search.index_entry(entry, rows)
        commit()
        return entry.id


@pytest.fixture
def bodies(tenant_a, tenant_b):
    """Bodies of every programme in two ABs."""
    ids = {
        "quality": put(tenant_a, "Northern Quality Certification Ltd", "0123", "ms_certification", [
            ("ISO 9001:2015 · IAF 28, 34", {"standard": "ISO 9001:2015", "iaf_codes": ["28", "34"]}),
            ("ISO 14001:2015 · IAF 28", {"standard": "ISO 14001:2015", "iaf_codes": ["28"]})],
            trading=["NQC"]),
        "food": put(tenant_b, "Bravo Food Certification", "B-5501", "ms_certification", [
            ("ISO 9001:2015 · IAF 3", {"standard": "ISO 9001:2015", "iaf_codes": ["3"]})],
            country="IE"),
        "kestrel": put(tenant_a, "Kestrel Calibration Services", "0456", "calibration", [
            ("Pressure · Pressure gauges (hydraulic) · 0 to 700 bar · CMC 0.025 %",
             {"discipline": "PRES", "quantity": "Pressure gauges (hydraulic)"}),
            ("Mass · Weights · 1 to 20 kg", {"discipline": "MASS", "quantity": "Weights"})]),
        "harbour": put(tenant_a, "Harbour Inspection Services", "4321", "inspection", [
            ("Asbestos · Asbestos surveys of buildings · HSG264",
             {"field": "ASB", "range": "Asbestos surveys of buildings"})]),
        "ndt": put(tenant_b, "Bravo Personnel Certification", "P-0777", "person_certification", [
            ("NDT level 2 · EN ISO 9712", {"scheme": "NDT", "levels": "level 2"})]),
        "water": put(tenant_a, "Northfield Water Testing", "2468", "testing", [
            ("Water · Drinking water · Lead · ISO 17294-2", {"field": "WAT", "product": "Water"}),
            ("Kestrel valley samples · pressure tests", {"field": "WAT", "product": "Samples"})],
            place="Kestrel House"),
    }
    return ids


def run(q: str = "", **kw) -> search.Result:
    return search.search(search.parse({"q": q, **kw}))


def names(result: search.Result) -> list[str]:
    return [h.entry.legal_name for h in result.hits]


@pytest.mark.parametrize(("q", "expected"), [
    ("ISO 9001", {"Northern Quality Certification Ltd", "Bravo Food Certification"}),
    ("IAF 28", {"Northern Quality Certification Ltd"}),
    ('"IAF 28"', {"Northern Quality Certification Ltd"}),
    ("pressure gauges", {"Kestrel Calibration Services"}),
    ('"pressure gauges"', {"Kestrel Calibration Services"}),
    ("asbestos surveys", {"Harbour Inspection Services"}),
    ("NDT level 2", {"Bravo Personnel Certification"}),
    ("NQC", {"Northern Quality Certification Ltd"}),  # a trading name
    ("kestrel house", {"Northfield Water Testing"}),  # a place
    ("certification -bravo", {"Northern Quality Certification Ltd"}),
    ("weights or asbestos", {"Kestrel Calibration Services", "Harbour Inspection Services"}),
    ("0123", {"Northern Quality Certification Ltd"}),  # the number
    ("012", {"Northern Quality Certification Ltd"}),  # part of a number
    ("5501", {"Bravo Food Certification"}),
    ("p-077", {"Bravo Personnel Certification"}),
])
def test_words_phrases_codes_and_numbers_find_the_right_bodies(bodies, q, expected):
    assert set(names(run(q))) == expected


def test_a_misspelled_name_finds_the_body_and_says_what_it_read(bodies):
    result = run("Kestral")
    assert names(result)[0] == "Kestrel Calibration Services"
    assert result.corrections == {"kestral": ["kestrel"]}
    assert set(names(run("Harbor inspection"))) == {"Harbour Inspection Services"}
    assert run("Qwxzt").total == 0


def test_words_that_match_but_not_with_the_filters_are_not_corrected(bodies, tenant_a):
    put(tenant_a, "Kestrels Inspection Ltd", "7001", "inspection", [("Lifts", {})])
    result = run("kestrel", programme="person_certification")  # matches, not with the filter
    assert (result.total, result.corrections) == (0, {})
    assert run("kestral", programme="calibration").corrections == {"kestral": ["kestrel", "kestrels"]}


def test_ranking_number_then_name_then_name_words_then_scope_text(bodies, tenant_a):
    put(tenant_a, "Pressure Gauges Direct Ltd", "9990", "testing", [("Pumps", {})])
    put(tenant_a, "Gauges and Pressure Ltd", "9991", "testing", [("Pumps", {})])
    put(tenant_a, "Acme Labs", "PRESSURE", "testing", [("Pumps", {})])
    result = run("pressure gauges")
    assert names(result) == [
        "Pressure Gauges Direct Ltd",  # name starts with the phrase (tier 1)
        "Gauges and Pressure Ltd",  # both words in the name (tier 2)
        "Kestrel Calibration Services",  # scope text only (tier 3)
    ]
    assert [h.tier for h in result.hits] == [1, 2, 3]
    assert names(run("pressure"))[0] == "Acme Labs"  # the exact number first
    assert names(run("pressure gauges", sort="name")) == sorted(names(result))


def test_pages_run_across_the_name_and_scope_tiers_in_order(bodies, tenant_a):
    put(tenant_a, "Pressure Gauges Direct Ltd", "9990", "testing", [("Pumps", {})])
    put(tenant_a, "Gauges and Pressure Ltd", "9991", "testing", [("Pumps", {})])
    pages = [names(run("pressure gauges", per_page="1", page=str(p))) for p in (1, 2, 3, 4)]
    assert pages == [["Pressure Gauges Direct Ltd"], ["Gauges and Pressure Ltd"],
                     ["Kestrel Calibration Services"], []]


@pytest.mark.parametrize("walk", [1, 3, 10_000])
def test_many_matches_give_the_same_pages_as_sorting_every_match(bodies, tenant_a, monkeypatch,
                                                                   walk):
    """With more matches than PLAN_CAP the page comes from the name tiers — walked in name
    order; or when that walk finds too few, for one word, the names starting with it walked
    (a range of the order) with those where a later word does sorted; or every name match
    sorted — and the rest walked: the same entries in the same order as sorting every match."""
    put(tenant_a, "Pressure Gauges Direct Ltd", "9990", "testing", [("Pumps", {})])
    put(tenant_a, "Gauges and Pressure Ltd", "9991", "testing", [("Pumps", {})])
    put(tenant_a, "Acme Labs", "PRESSURE", "testing", [("Pressure gauges", {})])
    put(tenant_a, "Zeta Testing", "9992", "testing", [("Pressure gauges", {})],
        trading=("Pressure Gauge World",))
    put(tenant_a, "Alpha Pressurised Systems", "9993", "calibration", [("Gauges", {})])
    put(tenant_a, "Pressure Systems North", "9994", "inspection", [("Boilers", {})])
    put(tenant_a, "Pressure Vessels Ltd", "9995", "inspection", [("Pressure vessels", {})])
    put(tenant_a, "★ ★", "9996", "inspection", [("Lifts", {})],  # a name without words
        trading=("Pressure Lifts",))

    def pages():
        return {(q, sort, page, programme): [
                    (h.entry.legal_name, h.entry.number, h.tier) for h in run(
                        q, sort=sort, per_page="2", page=str(page), programme=programme).hits]
                for q in ("pressure gauges", "pressure", "gauges", '"pressure gauges"',
                          "pressure or kestrel", "pressure -direct", "999", "certification",
                          "kestral", "press")
                for sort in ("relevance", "name") for page in (1, 2, 3)
                for programme in ("", "inspection")}

    sorted_all = pages()
    assert sorted_all[("pressure", "relevance", 1, "")][0][0] == "Acme Labs"  # the number
    monkeypatch.setattr(search, "PLAN_CAP", {"postgresql": 1, "sqlite": 1})
    monkeypatch.setattr(search, "WALK", walk)
    assert pages() == sorted_all


def test_a_broad_query_counts_up_to_the_cap_and_says_more_than(bodies, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 1)
    monkeypatch.setattr(search, "FACET_CAP", 1)
    broad = run("certification")  # 3 match
    assert (broad.total, broad.total_exact, broad.facets_exact) == (1, False, False)
    assert len(names(broad)) == 3  # the page itself is not cut
    assert sum(f.count for f in broad.facets["tenant"]) < 3  # counted over the first matches
    narrow = run("certification", tenant="alpha")  # a filter brings it under the cap
    assert (narrow.total, narrow.total_exact) == (1, True)
    assert run("asbestos").total_exact and run("asbestos").facets_exact  # 1 match
    browse = run()  # browsing counts from the summary table: always exact
    assert (browse.total, browse.total_exact) == (6, True)


def test_ties_go_by_name_then_number(tenant_a):
    for number in ("B-2", "A-1", "C-3"):
        put(tenant_a, "Same Name Ltd", number, "testing", [("Water", {})])
    put(tenant_a, "Another Name Ltd", "Z-9", "testing", [("Water", {})])
    result = run("water")
    assert [(h.entry.legal_name, h.entry.number) for h in result.hits] == [
        ("Another Name Ltd", "Z-9"), ("Same Name Ltd", "A-1"), ("Same Name Ltd", "B-2"),
        ("Same Name Ltd", "C-3")]


def test_filters_narrow_and_facets_count_with_the_other_filters(bodies):
    result = run("certification")
    assert result.total == 3
    facets = {name: {f.value: (f.label, f.count) for f in values}
              for name, values in result.facets.items()}
    assert facets["tenant"] == {"alpha": ("Alpha Accreditation Service", 1),
                                "bravo": ("Bravo Accreditation Bureau", 2)}
    assert facets["programme"]["ms_certification"][1] == 2
    assert facets["programme"]["person_certification"] == (
        "Certification of persons (ISO/IEC 17024)", 1)
    assert facets["status"] == {"accredited": ("Accredited", 3)}
    assert facets["country"] == {"GB": ("GB", 2), "IE": ("IE", 1)}
    assert {v: c for v, (_l, c) in facets["iaf_code"].items()} == {"28": 1, "34": 1, "3": 1}
    assert facets["iaf_code"]["28"][0].startswith("IAF 28")

    narrowed = run("certification", tenant="bravo")
    assert set(names(narrowed)) == {"Bravo Food Certification", "Bravo Personnel Certification"}
    by_tenant = {f.value: f.count for f in narrowed.facets["tenant"]}
    assert by_tenant == {"alpha": 1, "bravo": 2}  # its own filter left out of its counts
    assert {f.value: f.count for f in narrowed.facets["country"]} == {"GB": 1, "IE": 1}

    assert names(run(iaf_code="3")) == ["Bravo Food Certification"]
    by_code = run(iaf_code="28")  # no words: its own counts over every body, the rest narrowed
    assert {f.value: f.count for f in by_code.facets["iaf_code"]} == {"28": 1, "34": 1, "3": 1}
    assert {f.value: f.count for f in by_code.facets["programme"]} == {"ms_certification": 1}
    assert {f.value: f.count for f in by_code.facets["field"]} == {}
    both = run(iaf_code="28", field="PRES")
    assert both.total == 0 and {f.value: f.count for f in both.facets["field"]} == {}
    assert {f.value: f.count for f in both.facets["iaf_code"]} == {}
    assert names(run("iso", iaf_code="34")) == ["Northern Quality Certification Ltd"]
    assert names(run(field="PRES")) == ["Kestrel Calibration Services"]
    assert names(run(field="WAT", country="GB")) == ["Northfield Water Testing"]
    assert names(run(programme="inspection")) == ["Harbour Inspection Services"]
    assert names(run(status="suspended")) == []
    assert names(run(country="IE")) == ["Bravo Food Certification"]


def test_browsing_without_words_counts_from_the_summary_table_as_a_search_would(
        bodies, tenant_a):
    browse = run()
    assert browse.total == 6
    assert names(browse) == sorted(names(browse), key=str.lower)
    words = {name: {f.value: f.count for f in values}
             for name, values in run("", programme="calibration").facets.items()}
    assert words["field"] == {"MASS": 1, "PRES": 1}
    assert words["programme"]["testing"] == 1  # programme's own filter not applied
    # A status change republished: the counts follow (+1/−1), and agree with a rebuild.
    with tenant_scope(tenant_a):
        entry = db.session.execute(select(DirectoryEntry).where(
            DirectoryEntry.id == bodies["kestrel"])).scalar_one()
        entry.status = "suspended"
        db.session.flush()
        search.index_entry(entry, [])
        commit()
    before = {name: [(f.value, f.count) for f in values]
              for name, values in run().facets.items()}
    assert dict(before["status"]) == {"accredited": 5, "suspended": 1}
    assert names(run(status="suspended")) == ["Kestrel Calibration Services"]
    table = DirectorySearchCount.__table__
    every_row = select(table).order_by(*table.primary_key.columns)
    counts = db.session.execute(every_row.where(table.c.n != 0)).all()
    assert search.rebuild_index() == 6
    commit()
    after = {name: [(f.value, f.count) for f in values] for name, values in run().facets.items()}
    assert after == before
    assert db.session.execute(every_row).all() == counts


def test_browsing_counts_match_the_entries_for_every_combination_of_filters(
        bodies, tenant_a, tenant_b):
    """The summed counts (each grain of directory_search_counts) against counting the listed
    entries one by one: every facet with the other filters, the codes with all of them,
    ended entries while they stay listed, after +1/−1 republishing and after a rebuild."""
    put(tenant_b, "Recent Withdrawn Calibration", "W-1", "calibration",
        [("Pressure · gauges", {"discipline": "PRES", "quantity": "Pressure"})],
        status="withdrawn", ended_on=TODAY - relativedelta(months=11), country="IE")
    put(tenant_a, "Old Withdrawn Lab", "W-2", "testing", [("Soil", {"field": "SOIL"})],
        status="withdrawn", ended_on=TODAY - relativedelta(months=13))
    with tenant_scope(tenant_a):
        entry = db.session.get(DirectoryEntry, bodies["water"])
        entry.status, entry.country = "suspended", "IE"
        db.session.flush()
        search.index_entry(entry, [])
        commit()
    slugs = {tenant_a.id: tenant_a.slug, tenant_b.id: tenant_b.slug}
    listed = []
    for entry_id, tenant_id, scope_type, status, country, until in db.session.execute(
            select(DirectorySearch.entry_id, DirectorySearch.tenant_id,
                   DirectorySearch.scope_type, DirectorySearch.status,
                   DirectorySearch.country, DirectorySearch.until)):
        if until >= TODAY:
            codes = db.session.execute(select(DirectorySearchValue.kind,
                                              DirectorySearchValue.value).where(
                DirectorySearchValue.entry_id == entry_id)).all()
            listed.append(({"tenant": slugs[tenant_id], "programme": scope_type,
                            "status": status, "country": country}, codes))
    assert len(listed) == 7  # the six bodies and the withdrawal within its retention

    def expected(filters: dict) -> tuple[int, dict]:
        def passes(entry, skip=None):
            return all(entry[k] == v for k, v in filters.items() if k != skip)
        facets = {name: {} for name in search.FACETS}
        for entry, codes in listed:
            for name in ("tenant", "programme", "status", "country"):
                if passes(entry, name):
                    facets[name][entry[name]] = facets[name].get(entry[name], 0) + 1
            if passes(entry):
                for kind, value in codes:
                    facets[kind][value] = facets[kind].get(value, 0) + 1
        return sum(passes(entry) for entry, _codes in listed), facets

    choices = {"tenant": (None, "alpha", "bravo"), "country": (None, "GB", "IE"),
               "programme": (None, "calibration", "ms_certification", "testing"),
               "status": (None, "accredited", "withdrawn", "suspended")}

    def check():
        combos = [{}]
        for name, values in choices.items():
            combos = [{**c, **({name: v} if v else {})} for c in combos for v in values]
        for filters in combos:
            result = run(**filters)
            assert (result.total, {name: {f.value: f.count for f in values}
                                   for name, values in result.facets.items()}) \
                == expected(filters), filters
    check()
    assert search.rebuild_index() == 8
    commit()
    check()


def test_a_rebuild_indexes_as_publishing_did(bodies, tenant_a):
    queries = ["ISO 9001", "IAF 28", "pressure gauges", "012", "Kestral", "kestrel", ""]
    before = [(names(r), r.total, r.facets) for r in map(run, queries)]
    assert search.rebuild_index(tenant_id=tenant_a.id) == 4
    assert [(names(r), r.total, r.facets) for r in map(run, queries)] == before
    assert search.rebuild_index() == 6
    assert [(names(r), r.total, r.facets) for r in map(run, queries)] == before


def test_a_real_publish_is_searchable_and_the_cli_rebuild_keeps_it(tenant_a, runner):
    accredited(tenant_a, legal_name="Precision Metrology Ltd", lines=2)
    assert names(run("pressure gauges type 2")) == ["Precision Metrology Ltd"]
    assert names(run("PML")) == ["Precision Metrology Ltd"]  # its trading name
    assert runner.invoke(args=["directory", "rebuild"]).exit_code == 0
    assert names(run("precision")) == ["Precision Metrology Ltd"]


def test_withdrawn_within_retention_is_found_and_after_it_gone(tenant_a):
    put(tenant_a, "Recent Withdrawn Lab", "W-1", "testing", [("Soil", {})],
        status="withdrawn", ended_on=TODAY - relativedelta(months=11))
    put(tenant_a, "Old Withdrawn Lab", "W-2", "testing", [("Soil", {})],
        status="withdrawn", ended_on=TODAY - relativedelta(months=13))
    assert names(run("soil")) == ["Recent Withdrawn Lab"]
    assert names(run()) == ["Recent Withdrawn Lab"]
    assert {f.value: f.count for f in run().facets["status"]} == {"withdrawn": 1}
    assert run("W-2").total == 0
    assert names(run(status="withdrawn")) == ["Recent Withdrawn Lab"]
    assert run(today=None).total == 1
    later = search.search(search.parse({"q": "soil"}), today=TODAY + timedelta(days=62))
    assert later.total == 0


def test_an_inactive_tenant_is_not_searched(bodies, tenant_b):
    tenant_b.is_active = False
    commit()
    assert run("certification").total == 1
    assert {f.value for f in run().facets["tenant"]} == {"alpha"}


@pytest.mark.parametrize("q", [
    "x" * 5000, '"', '"unbalanced quote', 'pressure" gauges"', "* ( ) OR NEAR :",
    "NEAR(pressure gauges)", "pressure*", "doc:pressure", "-", "- -", "OR", "or or or",
    "'; drop table directory_search; --", "1' OR '1'='1", "pres\x00sure", "\x00", "^pressure",
    "a AND b NOT c", "{doc}: x", "%", "_", "\\", "0123%", "'0123'", "😀 🚀", "ümlaut ÉCOLE",
])
def test_bad_input_is_answered_never_an_error(bodies, q):
    result = run(q)
    assert result.total >= 0 and len(result.query.q) <= search.MAX_QUERY_CHARS
    assert db.session.execute(select(DirectoryEntry.id).limit(1)).all() is not None


def test_fts_syntax_is_read_as_words(bodies):
    assert names(run("pressure*")) == ["Kestrel Calibration Services", "Northfield Water Testing"]
    assert names(run('"pressure gauges')) == ["Kestrel Calibration Services"]  # unclosed quote
    assert names(run("NEAR(pressure gauges)")) == []  # "near" is a word like any other
    assert names(run("gauges:")) == ["Kestrel Calibration Services"]
    assert names(run("-bravo")) == names(run())  # exclusions alone are no query


def test_the_query_is_translated_not_passed_through():
    tq = search.read_query('"pressure gauges" or NEAR(x) -"bad word" iso:9001 * OR')
    assert tq.fts5() == ('(("pressure gauges" OR "near x") AND "iso 9001") NOT ("bad word")')
    assert tq.websearch() == '"pressure gauges" or "near x" "iso 9001" -"bad word"'
    assert not search.read_query('* : ( ) " -')
    assert search.read_query("a" * 500 + " b").groups[1] == (search.Term(("b",)),)


@pytest.mark.parametrize(("args", "bad"), [
    ({"programme": "astrology"}, "programme"), ({"status": "great"}, "status"),
    ({"page": "-1"}, "page"), ({"page": "0"}, "page"), ({"page": "two"}, "page"),
    ({"sort": "random"}, "sort"), ({"country": "GBR"}, "country"),
    ({"programme": "astro\x00logy"}, "programme"),
])
def test_bad_parameters_raise_query_error_naming_them(args, bad):
    with pytest.raises(search.QueryError) as caught:
        search.parse(args)
    assert bad in caught.value.errors


def test_per_page_is_clamped_and_a_long_query_cut(bodies):
    query = search.parse({"per_page": "100000", "q": "z" * 5000})
    assert query.per_page == search.MAX_PER_PAGE and len(query.q) == search.MAX_QUERY_CHARS
    assert search.parse({"per_page": "-5"}).per_page == 1
    assert search.parse({"page": "999999999"}).page == search.MAX_PAGE
    assert run(per_page="2", page="4").hits == [] and run(per_page="2", page="4").total == 6
    assert search.parse({"programme": "test\x00ing", "q": "a\x00b"}).programme == "testing"
    assert len(run(per_page="2", page="2").hits) == 2


def test_statements_per_search_do_not_grow_with_the_directory(tenant_a, count_queries):
    def statements(n: int) -> list[int]:
        for i in range(n):
            put(tenant_a, f"Bulk Lab {n}-{i}", f"N{n}-{i:03d}", "calibration",
                [(f"Pressure gauges {i}", {"discipline": "PRES"})])
        out = []
        for args in ({"q": "pressure gauges"}, {}, {"field": "PRES"}, {"q": "Presure"},
                     {"q": "lab", "programme": "calibration", "iaf_code": "28"}):
            db.session.expire_all()
            with count_queries() as q:
                search.search(search.parse(args))
            out.append(q.count)
        return out

    small = statements(2)
    assert small == statements(25)
    assert max(small) <= 5
