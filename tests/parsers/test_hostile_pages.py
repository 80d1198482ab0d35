"""The parsers meet hostile pages: mutated real captures and random bytes.

Hypothesis mutates the committed scrubbed fixtures (elements deleted, duplicated,
swapped, re-attributed, nested in tables; text spans cut, copied, swapped; junk with
NULs, control characters and lone surrogates injected; pages truncated) and sends
random bytes under random declared encodings. Every input either parses into rows
that hold (valid docket numbers, dates that are dates, text that comes from the page)
or ends in the parser's own answer for a page it cannot read (``LayoutChanged`` /
a ``LayoutChange`` reply; an empty or refused town list) — never another exception,
never a hang (a deadline per example). Examples are derandomized and counted, so a
run is the same every time. A strategy draws a printable *recipe* (fixture name and
operations), so a failure reads as a recipe that a regression test can replay.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from functools import cache

import lxml.html
import parsel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse, TextResponse

from ctforeclosure import dockets, towns
from ctforeclosure.parsers import judiciary as j
from ctforeclosure.parsers.derive import derive
from ctforeclosure.parsers.statelib import check_towns, parse_towns
from tests.conftest import HOSTILE, fixture_path

FEW = settings(HOSTILE, max_examples=30)  # the largest pages: fewer, same kinds

URL = "http://127.0.0.1/hostile"
RESULTS_PAGES = (
    "judiciary/results__middletown_2025-07-12.html",
    "judiciary/results__hartford_page1of2_2025-09-16.html",
)
SEARCH_FORM = "judiciary/search_form__replica.html"
CASE_PAGE = "judiciary/case_detail__hhdcv226160660s.html"
FRAGMENT = "judiciary/results_fragment__middletown_2025-07-16.html"
JUDICIARY_PAGES = (*RESULTS_PAGES, SEARCH_FORM, CASE_PAGE)
STATELIB_PAGES = (
    "statelib/towns__table.html",
    "statelib/towns__entries.html",
    "statelib/towns__partial_lists.html",
)
#: Declared encodings a hostile server may send, a bogus one and none included.
ENCODINGS = (
    "utf-8",
    "latin-1",
    "cp1252",
    "utf-16",
    "utf-16-be",
    "utf-32",
    "shift_jis",
    "gb18030",
    "koi8-r",
    "ascii",
    "x-no-such-charset",
    "",
)
SEARCH_REPLIES = (j.SearchForm, j.ResultsPage, j.SiteError, j.CutPage, j.LayoutChange)

# --- recipes: (fixture, tree operations, text operations) --------------------------

#: Junk for text spans: anything, NULs, control characters, surrogates, markup bits.
JUNK = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(
            ["\x00", "\x0b", "\x1b", "\ud800", "\udfff", "\ufeff", "\u202e", "\xa0"]
        ),
        st.sampled_from(["<", ">", "&", '"', "&#0;", "&amp;", "</html>", "<?xml "]),
        st.sampled_from(["<table>", "<tr>", "</td>", "</table>", "<!--", "]]>"]),
    ),
    max_size=12,
).map("".join)
#: Junk that lxml accepts as attribute values and element text.
TREE_JUNK = st.text(
    st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="\ufffe\uffff"),
    max_size=24,
)
ATTRIBUTES = ("id", "class", "href", "name", "value", "type", "colspan")
OFFSET = st.integers(0, 10**6)  # taken modulo the text's length
LENGTH = st.one_of(st.integers(0, 80), st.integers(0, 10**6))
INDEX = st.integers(0, 10**5)  # taken modulo the number of elements

TREE_OPS = st.one_of(
    st.tuples(st.just("drop"), INDEX),
    st.tuples(st.just("duplicate"), INDEX),
    st.tuples(st.just("swap"), INDEX, INDEX),
    st.tuples(st.just("attribute"), INDEX, st.sampled_from(ATTRIBUTES), TREE_JUNK),
    st.tuples(st.just("steal_attribute"), INDEX, INDEX, st.sampled_from(ATTRIBUTES)),
    st.tuples(st.just("nest_table"), INDEX),
    st.tuples(st.just("text"), INDEX, TREE_JUNK),
)
TEXT_OPS = st.one_of(
    st.tuples(st.just("truncate"), OFFSET),
    st.tuples(st.just("cut"), OFFSET, LENGTH),
    st.tuples(st.just("copy"), OFFSET, LENGTH),
    st.tuples(st.just("swap"), OFFSET, LENGTH, OFFSET),
    st.tuples(st.just("inject"), OFFSET, JUNK),
    st.tuples(st.just("prepend"), JUNK),
    st.tuples(st.just("window"), OFFSET, st.integers(0, 200)),
)


def recipes(names: tuple[str, ...]):
    """Return a strategy of (fixture, tree operations, text operations)."""
    return st.tuples(
        st.sampled_from(names),
        st.lists(TREE_OPS, max_size=3),
        st.lists(TEXT_OPS, max_size=3),
    )


@cache
def _page(name: str) -> str:
    return fixture_path(name).read_text(encoding="utf-8")


def _elements(root) -> list:
    """Return the tree's elements below the root, those with an id first."""
    found = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
    return sorted(found, key=lambda e: e.get("id") is None)


def _tree_op(root, op: tuple) -> None:
    """Apply one tree operation (indices are taken modulo the element count)."""
    elements = _elements(root)
    if not elements:
        return
    kind, first, *rest = op
    el = elements[first % len(elements)]
    if kind == "drop":
        el.drop_tree()
    elif kind == "duplicate":
        el.addnext(copy.deepcopy(el))
    elif kind == "swap":
        other = elements[rest[0] % len(elements)]
        if other is el or other in el.iterancestors() or el in other.iterancestors():
            return
        mark = lxml.html.Element("span")
        el.addprevious(mark)
        other.addprevious(el)
        mark.addprevious(other)
        mark.drop_tree()
    elif kind == "attribute":
        el.set(rest[0], rest[1])
    elif kind == "steal_attribute":
        source = elements[rest[0] % len(elements)]
        el.set(rest[1], source.get(rest[1]) or source.get("id") or "")
    elif kind == "nest_table":
        table = lxml.html.fromstring("<table><tr><td></td></tr></table>")
        el.addprevious(table)
        table.find(".//td").append(el)
    elif kind == "text":
        el.text = rest[0]


def _text_op(text: str, op: tuple) -> str:
    """Apply one text operation (offsets are taken modulo the text's length)."""
    if op[0] == "prepend":
        return op[1] + text
    kind, offset, *rest = op
    a = offset % (len(text) + 1)
    if kind == "truncate":
        return text[:a]
    if kind == "inject":
        return text[:a] + rest[0] + text[a:]
    b = min(len(text), a + rest[0])
    if kind == "window":
        return text[a:b]
    if kind == "cut":
        return text[:a] + text[b:]
    if kind == "copy":
        return text[:b] + text[a:b] + text[b:]
    c = b + rest[1] % (len(text) - b + 1)  # swap [a, b) with [c, c + (b - a))
    d = min(len(text), c + (b - a))
    return text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]


def apply(recipe) -> str:
    """Return the fixture page with the recipe's operations applied."""
    name, tree_ops, text_ops = recipe
    text = _page(name)
    if tree_ops:
        root = lxml.html.document_fromstring(text.encode(), lxml.html.HTMLParser())
        for op in tree_ops:
            _tree_op(root, op)
        text = lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")
    for op in text_ops:
        text = _text_op(text, op)
    return text


def html_response(text: str) -> HtmlResponse:
    """Return the text as a server would send it: UTF-8 bytes, surrogates and all."""
    body = text.encode("utf-8", "surrogatepass")
    return HtmlResponse(url=URL, body=body, encoding="utf-8")


def random_response(body: bytes, charset: str, prefix: str | None, html: bool):
    """Return random bytes as a response, inside a real page's head and end if any."""
    if prefix is not None:
        page = _page(prefix).encode()
        body = page[:3000] + body + page[-300:]
    headers = {"Content-Type": f"text/html; charset={charset}" if charset else "x/y"}
    kind = HtmlResponse if html else TextResponse
    return kind(url=URL, body=body, headers=headers)


# --- what a parsed value may be -----------------------------------------------------

_IGNORED = re.compile(r"[\s\ufffd?\ud800-\udfff]+")


def _norm(text: str) -> str:
    """Return text without whitespace, replacement characters and surrogates."""
    return _IGNORED.sub("", text)


def page_text(text: str) -> str:
    """Return the page's text content as an independent parse reads it, normalised."""
    clean = text.encode("utf-8", "replace").decode("utf-8")
    root = parsel.Selector(text=clean, type="html").root
    return _norm(root.text_content() if hasattr(root, "text_content") else "")


def from_page(value: str | None, words: str, joiner: str = "\n") -> None:
    """Assert a parsed text (each of its joined parts) occurs in the page's text."""
    if value is None:
        return
    assert isinstance(value, str), value
    for part in value.split(joiner):
        assert _norm(part) in words, f"{part!r} is not in the page"


def is_date(value) -> None:
    assert value is None or isinstance(value, date), value


def check_row(row: dict, words: str) -> None:
    """Assert one results-grid row holds a valid docket and text from the page."""
    assert dockets.is_valid(row["docket_no"])
    assert row["docket_no"] == dockets.compact(row["docket_display"])
    for name in ("docket_display", "listing_town", "listing_zip", "case_name"):
        from_page(row[name], words)
    for name in ("property_type", "listing_disposition", "listing_street"):
        from_page(row[name], words)
    assert isinstance(row["paperless"], bool)


def check_reply(reply, text: str) -> None:
    """Assert a search step's reply is one of its kinds and holds what the page says."""
    assert isinstance(reply, SEARCH_REPLIES), reply
    words = page_text(text)
    if isinstance(reply, j.ResultsPage):
        assert reply.next_page is None or reply.next_page in reply.page_numbers
        assert reply.empty in (True, False)
        for row in reply.rows:
            check_row(row, words)
        from_page(reply.message, words)
    elif isinstance(reply, j.SearchForm):
        assert all(isinstance(v, str) for v in reply.hidden.values())
        assert reply.nobot_answer is None or reply.nobot_answer.lstrip("-").isdigit()
        from_page(reply.message, words)
    elif isinstance(reply, j.SiteError):
        from_page(reply.message, words)
    elif isinstance(reply, j.LayoutChange):
        assert reply.reason


def check_case(fields: dict, text: str) -> None:
    """Assert a parsed case page holds a valid docket, dates and text from the page."""
    words = page_text(text)
    assert dockets.is_valid(fields["docket_no"])
    for name in ("file_date", "return_date", "last_action_date", "disposition_date"):
        is_date(fields[name])
    is_date(fields["information_updated"])
    for name in ("caption", "prefix", "case_type_code", "case_type", "disposition"):
        from_page(fields[name], words)
    for name in ("court_location", "list_type", "disposition_judge"):
        from_page(fields[name], words)
    for name in ("property_address_raw", "property_street", "property_zip"):
        from_page(fields.get(name), words)
    town = fields.get("property_town")
    if town is not None and towns.match(town) is None:
        from_page(town, words)
    for party in fields["parties"]:
        from_page(party.party_no, words)
        from_page(party.name, words)
        from_page(party.category, words)
        for appearance in party.appearances:
            from_page(appearance.attorney, words)
            from_page(appearance.juris_no, words)
            from_page(appearance.address, words, joiner=", ")
            is_date(appearance.file_date)
    for entry in fields["docket_entries"]:
        is_date(entry.file_date)
        for name in ("entry_no", "filed_by", "description", "add_desc", "notes"):
            from_page(getattr(entry, name), words)
        from_page(entry.result, words)
    for court_date in fields["court_dates"]:
        is_date(court_date.court_date)
        from_page(court_date.description, words)
    derived = derive(fields["docket_entries"], fields["disposition"])
    is_date(derived.law_day)
    is_date(derived.sale_date)


def check_towns_rows(rows: list[dict], text: str) -> None:
    """Assert parsed towns come from the page and the 169-towns check can judge them."""
    words = page_text(text)
    for row in rows:
        from_page(row["town"], words)
        from_page(row["planning_region"], words)
        assert row["county"] in towns.counties()
    ok, differences = check_towns(rows)
    assert differences.describe()
    if ok:
        assert differences.found == len(towns.all_towns())


# --- judiciary -----------------------------------------------------------------------


@FEW
@given(recipe=recipes(JUDICIARY_PAGES))
def test_read_search_page_on_mutated_pages_says_what_each_is(recipe):
    response = html_response(apply(recipe))
    check_reply(j.read_search_page(response, url=URL), response.text)


@HOSTILE
@given(
    body=st.binary(max_size=4096),
    charset=st.sampled_from(ENCODINGS),
    prefix=st.sampled_from([None, *JUDICIARY_PAGES]),
    html=st.booleans(),
)
def test_read_search_page_on_random_bytes_says_what_each_is(
    body, charset, prefix, html
):
    response = random_response(body, charset, prefix, html)
    check_reply(j.read_search_page(response, url=URL), response.text)


@FEW
@given(recipe=recipes((CASE_PAGE, CASE_PAGE, RESULTS_PAGES[0])))
def test_parse_case_on_mutated_pages_reads_or_raises_layout_changed(recipe):
    text = apply(recipe)
    try:
        fields = j.parse_case(text, url=URL)
    except j.LayoutChanged as exc:
        assert exc.what
        return
    check_case(fields, text)


@HOSTILE
@given(
    body=st.binary(max_size=4096),
    charset=st.sampled_from(ENCODINGS),
    prefix=st.sampled_from([None, CASE_PAGE]),
)
def test_parse_case_on_random_bytes_reads_or_raises_layout_changed(
    body, charset, prefix
):
    text = random_response(body, charset, prefix, html=True).text
    with pytest.raises(j.LayoutChanged):
        j.parse_case(text, url=URL)


@HOSTILE
@given(recipe=recipes((FRAGMENT,)))
def test_parse_grid_rows_on_mutated_fragments_reads_or_raises_layout_changed(recipe):
    text = apply(recipe)
    try:
        rows = j.parse_grid_rows(text)
    except j.LayoutChanged as exc:
        assert exc.what
        return
    words = page_text(text)
    for row in rows:
        check_row(row, words)


# --- State Library -------------------------------------------------------------------


@HOSTILE
@given(recipe=recipes(STATELIB_PAGES))
def test_parse_towns_on_mutated_pages_reads_towns_from_the_page(recipe):
    response = html_response(apply(recipe))
    check_towns_rows(parse_towns(response), response.text)


@HOSTILE
@given(
    body=st.binary(max_size=4096),
    charset=st.sampled_from(ENCODINGS),
    prefix=st.sampled_from([None, *STATELIB_PAGES]),
    html=st.booleans(),
)
def test_parse_towns_on_random_bytes_reads_towns_from_the_page(
    body, charset, prefix, html
):
    response = random_response(body, charset, prefix, html)
    check_towns_rows(parse_towns(response), response.text)
