"""The directory search pages, read anonymously: ``/directory/`` (every active AB) and
``/<tenant>/directory/`` (one AB) — what they list, search, filter, sort and page; bad
parameters (400 beside the field) and hostile words (never a 500); retention and inactive ABs;
the CAB page's named suspended items, scope table and verify form; accessibility basics; and
the statements each page runs at two data sizes."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import update

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.directory import search, services
from accreditor.extensions import db, limiter
from accreditor.scopes import services as scopes
from accreditor.tenants.models import Tenant
from tests.directory.conftest import (
    GRANTED,
    accredited,
    big,
    issue,
    item_ids,
    load_acc,
    months_ago,
    page,
    suspend,
    withdraw,
)
from tests.factories import MS_LINE, create_accreditation, create_cab

HIT = re.compile(r'data-testid="hit">\s*<h3[^>]*><a href="([^"]+)">([^<]+)</a>')


def hits(body: str) -> list[str]:
    """The names listed as results, in order."""
    return [name.replace("&amp;", "&") for _href, name in HIT.findall(body)]


def hit_links(body: str) -> list[str]:
    return [href for href, _name in HIT.findall(body)]


def total(body: str) -> int:
    m = re.search(r'data-testid="total">(\d+) accreditation', body)
    assert m, "no results count"
    return int(m.group(1))


def published_big(tenant, n: int, *, legal_name: str, number: str | None = None):
    acc = big(tenant, n, legal_name=legal_name, number=number)
    with tenant_scope(tenant):
        acc = load_acc(acc.id)
        services.publish(acc)
        commit()
    return acc


def certification_body(tenant, legal_name: str = "Assured Certification Ltd"):
    """A management-system certification body (ISO 9001, IAF 28 and 34), published."""
    cab = create_cab(tenant, legal_name, country="IE", locations=(("HO", "Head office"),))
    cb = create_accreditation(tenant, cab, "17021-1", lines=[MS_LINE])
    with tenant_scope(tenant):
        acc = load_acc(cb.id)
        scopes.grant(acc, effective_on=GRANTED, propose=False)
        issue(acc, GRANTED)
        services.publish(acc)
        commit()
    return acc


@pytest.fixture
def two_abs(tenant_a, tenant_b):
    """Alpha: a calibration lab (pressure gauges) and a certification body; Bravo: a
    calibration lab of its own."""
    lab = accredited(tenant_a)  # Precision Metrology Ltd, trading as PML Calibration
    cb = certification_body(tenant_a)
    bravo = published_big(tenant_b, 2, legal_name="Bravo Weighing Ltd", number="B-1")
    return lab, cb, bravo


# -- what is listed -------------------------------------------------------------------------


def test_the_global_page_lists_every_ab_and_the_ab_page_only_its_own(two_abs, client):
    lab, cb, bravo = two_abs
    body = page(client, "/directory/")
    assert sorted(hits(body)) == ["Assured Certification Ltd", "Bravo Weighing Ltd",
                                  "Precision Metrology Ltd"]
    assert total(body) == 3
    assert "Alpha Accreditation Service" in body and "Bravo Accreditation Bureau" in body
    assert f"/alpha/directory/{lab.number}" in hit_links(body)
    assert "/bravo/directory/B-1" in hit_links(body)
    for text in ("ISO/IEC 17025:2017", "Trading as PML Calibration", "Number:", "Country: IE"):
        assert text in body, text

    alpha = page(client, "/alpha/directory/")
    assert sorted(hits(alpha)) == ["Assured Certification Ltd", "Precision Metrology Ltd"]
    assert 'data-testid="hit-ab"' not in alpha  # the AB is the page's
    assert 'data-testid="filter-tenant"' not in alpha  # no AB filter on one AB's page
    # Another AB's slug in the arguments does not widen one AB's page.
    assert hits(page(client, "/alpha/directory/?tenant=bravo")) == hits(alpha)
    assert hits(page(client, "/bravo/directory/")) == ["Bravo Weighing Ltd"]
    # The per-AB page links to its sanctions list, to /verify, to the whole directory and to
    # its open data; the global page to /verify and the global open data.
    assert 'href="/alpha/directory/sanctions"' in alpha
    assert 'href="/verify/"' in alpha and 'href="/directory/"' in alpha
    assert 'href="/alpha/directory/data/"' in alpha
    assert 'href="/verify/"' in body and 'href="/directory/data/"' in body


def test_an_inactive_tenants_entries_are_not_listed(two_abs, tenant_b, client):
    db.session.execute(update(Tenant).where(Tenant.id == tenant_b.id).values(is_active=False))
    commit()
    body = page(client, "/directory/")
    assert "Bravo Weighing Ltd" not in body and "Bravo Accreditation Bureau" not in body
    assert "Bravo Weighing Ltd" not in page(client, "/directory/?q=bravo")
    assert "Bravo Weighing Ltd" not in page(client, "/directory/?tenant=bravo")
    page(client, "/bravo/directory/", 404)


@pytest.mark.parametrize("months, listed", [(11, True), (13, False)])
def test_a_withdrawn_entry_is_listed_marked_until_its_retention_ends(tenant_a, client, months,
                                                                     listed):
    acc = accredited(tenant_a, legal_name="Withdrawn Gauges Ltd", granted_on=months_ago(40))
    withdraw(tenant_a, acc.id, months_ago(months))
    for url in ("/directory/", "/directory/?q=withdrawn", "/alpha/directory/?q=gauges",
                "/directory/?status=withdrawn"):
        body = page(client, url)
        assert ("Withdrawn Gauges Ltd" in hits(body)) is listed, url
        if listed:
            assert f"since {months_ago(months)}" in body


# -- searching, filtering, sorting, paging --------------------------------------------------


def test_search_by_name_trading_name_number_and_scope_words(two_abs, client):
    lab, cb, bravo = two_abs
    for q, expected in (
            ("precision", ["Precision Metrology Ltd"]),
            ("PML", ["Precision Metrology Ltd"]),  # a trading name
            (lab.number, ["Precision Metrology Ltd"]),
            ("B-1", ["Bravo Weighing Ltd"]),
            ("pressure gauges type", ["Precision Metrology Ltd"]),  # scope words
            ("ISO 9001", ["Assured Certification Ltd"]),
            ("nothing-like-this", [])):
        body = page(client, f"/directory/?q={q}")
        assert hits(body) == expected, q
        assert f'value="{q}"' in body  # the box keeps the words
    assert "No accreditation matches" in page(client, "/directory/?q=nothing-like-this")
    # The per-AB page searches its own entries only.
    assert hits(page(client, "/bravo/directory/?q=precision")) == []
    assert hits(page(client, "/alpha/directory/?q=precision")) == ["Precision Metrology Ltd"]


def test_a_filter_narrows_and_its_count_matches(two_abs, client):
    calibration = page(client, "/directory/?programme=calibration")
    assert sorted(hits(calibration)) == ["Bravo Weighing Ltd", "Precision Metrology Ltd"]
    assert total(calibration) == 2
    certification = page(client, "/directory/?programme=ms_certification")
    assert hits(certification) == ["Assured Certification Ltd"] and total(certification) == 1
    assert hits(page(client, "/directory/?tenant=bravo")) == ["Bravo Weighing Ltd"]
    assert hits(page(client, "/directory/?country=ie")) == ["Assured Certification Ltd"]
    assert hits(page(client, "/directory/?q=ltd&tenant=alpha&programme=calibration")) == [
        "Precision Metrology Ltd"]

    # The active filter is shown with a link removing it (and keeping the words).
    body = page(client, "/directory/?q=ltd&programme=calibration")
    active = body[body.index('data-testid="active-filters"'):]
    assert "Programme: Calibration laboratories (ISO/IEC 17025)" in active
    remove = re.search(r'<a href="([^"]+)">remove', active).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(remove).query) == {"q": ["ltd"]}
    # … and kept by a new search from the box (a hidden field of the GET form).
    assert '<input type="hidden" name="programme" value="calibration">' in body


def test_facet_values_link_with_counts_that_match_the_filtered_totals(two_abs, client):
    body = page(client, "/directory/")
    assert re.findall(r'data-testid="filter-(\w+)".*?</section>', body, re.S), "no facets"
    facet = body[body.index('data-testid="filter-programme"'):]
    facet = facet[:facet.index("</section>")]
    found = re.findall(r'<a href="([^"]+)">([^<]+) \((\d+)\)</a>', facet)
    assert found, "no programme values"
    for href, _label, count in found:
        filtered = page(client, href.replace("&amp;", "&"))
        assert total(filtered) == int(count), href
    assert ("Calibration laboratories (ISO/IEC 17025)", "2") in [(n, c) for _h, n, c in found]


def test_sort_by_name(tenant_a, client):
    for name in ("Zeta Labs", "Alpha Labs", "Mu Labs"):
        published_big(tenant_a, 1, legal_name=name)
    for url in ("/directory/?sort=name", "/alpha/directory/?sort=name&q=labs",
                "/alpha/directory/"):
        assert hits(page(client, url)) == ["Alpha Labs", "Mu Labs", "Zeta Labs"], url
    body = page(client, "/alpha/directory/?q=labs&sort=name")
    assert '<strong aria-current="true">Name</strong>' in body
    assert 'href="/alpha/directory/?q=labs">Relevance</a>' in body


def test_pagination_links_keep_the_query(tenant_a, client, monkeypatch):
    for i in range(5):
        published_big(tenant_a, 1, legal_name=f"Kiln Works {i}")
    published_big(tenant_a, 1, legal_name="Other Business")
    monkeypatch.setattr(services, "LIST_PAGE_SIZE", 2)
    first = page(client, "/directory/?q=kiln&programme=calibration")
    assert total(first) == 5 and len(hits(first)) == 2 and "Page 1 of 3" in first
    current = re.search(r'href="([^"]+)" aria-current="page"', first).group(1)
    assert parse_qs(urlsplit(current.replace("&amp;", "&")).query) == {
        "q": ["kiln"], "programme": ["calibration"]}  # page 1 is the default
    pages = re.findall(r'<a class="page-link"(?: rel="next")? href="([^"]+)"', first)
    seen = list(hits(first))
    for href in dict.fromkeys(pages):
        args = parse_qs(urlsplit(href.replace("&amp;", "&")).query)
        assert args["q"] == ["kiln"] and args["programme"] == ["calibration"], href
        if args.get("page", ["1"]) != ["1"]:
            seen += [h for h in hits(page(client, href.replace("&amp;", "&"))) if h not in seen]
    assert sorted(seen) == [f"Kiln Works {i}" for i in range(5)]
    # Past the last page: a note and a link back, not an error.
    assert "the results end on page 3" in page(client, "/directory/?q=kiln&page=9")


# -- bad parameters and hostile words -------------------------------------------------------


@pytest.mark.parametrize("url, field, message", [
    ("/directory/?programme=nope&q=ltd", "programme", "Unknown programme."),
    ("/directory/?status=sleeping", "status", "Unknown status."),
    ("/directory/?country=123", "country", "A two-letter country code"),
    ("/directory/?page=-1&q=ltd", "page", "Pages start at 1."),
    ("/directory/?page=two", "page", "Must be a whole number."),
    ("/directory/?per_page=many", "per_page", "Must be a whole number."),
    ("/directory/?sort=cheapest", "sort", "Sort by relevance or name."),
    ("/alpha/directory/?programme=nope", "programme", "Unknown programme."),
    ("/alpha/directory/?page=0", "page", "Pages start at 1."),
])
def test_bad_parameters_are_a_400_with_the_message_beside_the_field(two_abs, client, url,
                                                                    field, message):
    body = page(client, url, 400)
    beside = body[body.index(f'data-testid="error-{field}"'):]
    assert message in beside[:300]
    assert message in body[body.index('data-testid="errors"'):]  # and in the summary on top
    assert 'data-testid="hit"' not in body
    if "q=ltd" in url:
        assert 'value="ltd"' in body  # the box keeps the words


def test_a_bad_filter_is_dropped_from_the_links_the_good_ones_kept(two_abs, client):
    body = page(client, "/directory/?programme=nope&country=GB&q=ltd", 400)
    beside = body[body.index('data-testid="error-programme"'):]
    link = re.search(r'href="([^"]+)">Remove this filter', beside).group(1)
    assert parse_qs(urlsplit(link.replace("&amp;", "&")).query) == {"q": ["ltd"],
                                                                    "country": ["GB"]}
    assert sorted(hits(page(client, link.replace("&amp;", "&")))) == [
        "Bravo Weighing Ltd", "Precision Metrology Ltd"]


@pytest.mark.parametrize("q", [
    '"', '"pressure', "pres*", "(gauges", "gauges)", "a OR b", "NEAR(a b)", "a:b", ":", "-",
    "^", "' OR 1=1 --", "'; DROP TABLE directory_entries; --", "%", "_", "\\", "x" * 5000,
    "pressure " * 700, "pres%00sure", "%00", "AND", "NOT", "*",
])
def test_hostile_words_are_answered_never_a_500(two_abs, client, q):
    for base in ("/directory/", "/alpha/directory/"):
        resp = client.get(base, query_string={"q": q.replace("%00", "\x00")})
        assert resp.status_code == 200, (q, resp.status_code)
        assert 'data-testid="total"' in resp.get_data(as_text=True)


@pytest.mark.parametrize("name", ["tenant", "programme", "status", "country", "iaf_code", "field",
                                  "sort", "page", "per_page"])
@pytest.mark.parametrize("value", ["\x00", "a\x00b", "' OR 1=1 --", "x" * 5000, "28 OR 1"])
def test_hostile_filter_values_are_a_clean_answer(two_abs, client, name, value):
    for base in ("/directory/", "/alpha/directory/"):
        resp = client.get(base, query_string={name: value, "q": "ltd"})
        assert resp.status_code in (200, 400), (name, value, resp.status_code)
        body = resp.get_data(as_text=True)
        assert 'data-testid="total"' in body or f'data-testid="error-{name}"' in body


def test_a_huge_page_size_is_clamped(two_abs, client, monkeypatch):
    monkeypatch.setattr(search, "MAX_PER_PAGE", 2)
    body = page(client, "/directory/?per_page=100000")
    assert total(body) == 3 and len(hits(body)) == 2 and "Page 1 of 2" in body
    assert len(hits(page(client, "/directory/?per_page=100000&page=2"))) == 1


@pytest.mark.parametrize("q", ["-apex", "or", '""', "-"])
def test_a_query_without_words_lists_every_entry_by_name_without_matching_words(two_abs,
                                                                               client, q):
    body = page(client, "/directory/?" + urlencode({"q": q}))
    assert re.search(r'data-testid="total">3 accreditations\.</p>', body), q
    assert "match" not in body[body.index('data-testid="total"'):][:200]
    sort = body[body.index('data-testid="sort"'):]
    sort = sort[:sort.index("</p>")]
    assert '<strong aria-current="true">Name</strong>' in sort and "Relevance" not in sort
    assert hits(body) == sorted(hits(body))  # by name


def test_the_search_page_past_the_end_uses_the_search_bound(two_abs, client):
    body = page(client, f"/directory/?page={search.MAX_PAGE + 50}")
    assert f"There is no page {search.MAX_PAGE}: the results end on page 1." in body


def test_the_search_pages_are_rate_limited(two_abs, app, client, monkeypatch):
    limiter.reset()
    monkeypatch.setitem(app.config, "SEARCH_RATE_LIMIT", "3 per minute")
    try:
        for url in ("/directory/", "/alpha/directory/?q=ltd", "/directory/?q=x"):
            assert client.get(url).status_code == 200
        resp = client.get("/alpha/directory/")  # one budget for both pages
        assert resp.status_code == 429
        assert "Too many requests" in resp.get_data(as_text=True)
    finally:
        limiter.reset()


# -- the CAB page ---------------------------------------------------------------------------


def test_the_cab_page_names_the_suspended_items_and_shows_the_fields(tenant_a, client):
    acc = accredited(tenant_a, lines=3)
    suspend(tenant_a, acc.id, item_ids(tenant_a, acc.id)[1:2])
    body = page(client, f"/alpha/directory/{acc.number}")
    notice = body[body.index('data-testid="partial"'):]
    notice = notice[:notice.index("</div>")]
    assert "1 of 3 scope lines are suspended" in notice
    assert "Pressure gauges type 2" in notice
    assert "Pressure gauges type 1" not in notice and "Pressure gauges type 3" not in notice
    # The scope as a table of the programme's fields, each line with its status.
    scope = body[body.index('data-testid="scope"'):]
    scope = scope[:scope.index("</table>")]
    for heading in ("Discipline", "Measured quantity / instrument", "Range", "CMC (k = 2)",
                    "Location", "Status"):
        assert f">{heading}</th>" in scope, heading
    assert ">Pressure gauges type 2</td>" in scope and ">0 to 700 bar</td>" in scope
    assert scope.count(">Suspended<") == 1 and scope.count(">Accredited<") == 2
    history = body[body.index('data-testid="history"'):]
    assert "Accredited (partially suspended)" in history
    # Verify it on a date: a GET form to /verify/ with the number, the AB and a date.
    form = body[body.index('data-testid="verify-form"'):]
    form = form[:form.index("</form>")]
    assert 'action="/verify/"' in form and 'method="get"' in form
    assert f'name="number" value="{acc.number}"' in form and 'name="ab" value="alpha"' in form
    assert 'type="date"' in form and 'name="on"' in form
    answer = page(client, f"/verify/?number={acc.number}&ab=alpha&on={GRANTED.isoformat()}")
    assert "Yes." in answer and "Pressure gauges type 3" in answer


def test_the_global_page_marks_partial_suspensions(tenant_a, client):
    acc = accredited(tenant_a, lines=3)
    suspend(tenant_a, acc.id, item_ids(tenant_a, acc.id)[:1])
    body = page(client, "/directory/")
    assert 'text-bg-warning" data-testid="hit-status">Accredited (partially suspended)' in body
    assert "1 of 3 lines suspended" in body
    assert hits(page(client, "/directory/?status=partially_suspended")) == [
        "Precision Metrology Ltd"]
    assert hits(page(client, "/directory/?status=accredited")) == []


# -- accessibility --------------------------------------------------------------------------


class Structure(HTMLParser):
    """Headings, form controls and their labels, tables, aria-current."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.controls: list[dict] = []
        self.labels: set[str] = set()
        self.tables = 0
        self.captions = 0
        self.th_without_scope = 0
        self.current: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(tag)
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a)
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag == "table":
            self.tables += 1
        if tag == "caption":
            self.captions += 1
        if tag == "th" and "scope" not in a:
            self.th_without_scope += 1
        if "aria-current" in a:
            self.current.append(a["aria-current"])


def structure(body: str) -> Structure:
    s = Structure()
    s.feed(body)
    return s


def test_the_pages_are_accessible(two_abs, client, monkeypatch):
    lab, cb, bravo = two_abs
    monkeypatch.setattr(services, "LIST_PAGE_SIZE", 1)
    for url, status in (("/directory/?q=ltd", 200), ("/alpha/directory/", 200),
                        ("/directory/?programme=nope", 400),
                        (f"/alpha/directory/{lab.number}", 200)):
        s = structure(page(client, url, status))
        assert s.headings.count("h1") == 1, url
        levels = [int(h[1]) for h in s.headings]
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), (url, levels)
        for control in s.controls:
            assert control.get("id") in s.labels, (url, control)
        assert s.tables == s.captions and s.th_without_scope == 0, url
        assert len(s.ids) == len(set(s.ids)), (url, [i for i in s.ids if s.ids.count(i) > 1])
        if url.startswith("/directory/?q"):
            assert "page" in s.current  # the pager's current page
            assert "true" in s.current  # the current sort
    # No light-grey text of our own on the search page (Bootstrap's classes only).
    assert "style=" not in page(client, "/directory/")


# -- bounded statements ---------------------------------------------------------------------


def test_the_search_pages_run_the_same_statements_for_6_and_34_entries(tenant_a, tenant_b,
                                                                      client, count_queries,
                                                                      monkeypatch):
    urls = ("/directory/", "/directory/?q=ltd&programme=calibration&sort=name",
            "/alpha/directory/", "/alpha/directory/?q=gauge&page=2",
            "/directory/?programme=nope")

    def statements() -> list[int]:
        counts = []
        for url in urls:
            client.get(url)
            with count_queries() as q:
                client.get(url)
            counts.append(q.count)
        return counts

    monkeypatch.setattr(services, "LIST_PAGE_SIZE", 2)  # hits on page 2 at both sizes
    for i in range(6):
        published_big(tenant_a if i % 2 else tenant_b, 2, legal_name=f"Small Gauge {i} Ltd")
    small = statements()
    assert 'data-testid="hit"' in page(client, "/alpha/directory/?q=gauge&page=2")
    for i in range(27):
        published_big(tenant_a if i % 2 else tenant_b, 3, legal_name=f"More Gauge {i:02d} Ltd")
    suspend(tenant_a, published_big(tenant_a, 3, legal_name="Partly Ltd").id, None)
    assert statements() == small


def test_the_cab_page_past_its_last_page_says_so_and_links_to_the_last(tenant_a, client,
                                                                        monkeypatch):
    monkeypatch.setattr(services, "LINES_PAGE_SIZE", 2)
    published_big(tenant_a, 5, legal_name="Paged Lab", number="P-5")
    body = page(client, "/alpha/directory/P-5?page=999")
    note = body[body.index('data-testid="past-the-end"'):]
    assert "There is no page 999: the results end on page 3." in note
    assert re.search(r'href="/alpha/directory/P-5\?page=3#scope">Go to the last page', note)
    assert 'data-testid="past-the-end"' not in page(client, "/alpha/directory/P-5?page=3")
    far = page(client, "/alpha/directory/P-5?page=99999999")  # clamped to the search's bound
    assert f"There is no page {search.MAX_PAGE}: the results end on page 3." in far


def test_the_folded_filters_summary_holds_no_heading(two_abs, client):
    body = page(client, "/directory/")
    summary = re.search(r"<summary.*?</summary>", body, re.S).group(0)
    assert "<h" not in summary.replace("<summary", "")


def test_the_public_links_sit_outside_the_collapsed_menu(client):
    """Directory and Verify stay in the bar on a phone: the collapsed menu needs JavaScript."""
    body = page(client, "/directory/")
    collapse = body.index('class="collapse navbar-collapse"')
    assert body.index('data-testid="nav-directory"') < collapse
    assert body.index('data-testid="nav-verify"') < collapse


def test_a_broad_search_says_more_than_the_cap(two_abs, client, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 1)
    monkeypatch.setattr(search, "FACET_CAP", 1)
    body = page(client, "/directory/?q=ltd")  # every body of two_abs is a "Ltd"
    assert "More than 1 accreditations match “ltd”." in body
    assert len(hits(body)) == 3  # the page itself lists every match
    assert "Counts beside the filters are from a sample of 2 matches" in body
    assert 'data-testid="facets-sampled"' not in page(client, "/directory/?q=precision")
    assert total(page(client, "/directory/?q=precision")) == 1  # under the cap: exact
