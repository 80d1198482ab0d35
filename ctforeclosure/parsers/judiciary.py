"""Parse civilinquiry.jud.ct.gov pages: search form, results grid, case page.

Source: https://civilinquiry.jud.ct.gov (ASP.NET WebForms; docs/SITES.md §1-§3). Pure
functions, page text in, plain data out; the ``cases`` spider makes the requests.

Flow the spider follows (each search step's reply read once, by
:func:`read_search_page`, which says what the page is):
1. GET ``PropertyAddressSearch.aspx`` → :class:`SearchForm` (hidden fields, the NoBot
   challenge and its answer, option labels → values, the <form> to post).
2. POST the search → :class:`ResultsPage` (rows, "Records: a-b of n", pager, and the
   form the next page's postback posts); or the form again (:class:`SearchForm`, a
   refusal), :class:`SiteError`, :class:`CutPage`, :class:`LayoutChange`.
3. POST ``Page$N`` postbacks for the other pages → the same again.
4. GET ``LoadDocket.aspx?DocketNo=<dashed>`` → 302 → :func:`parse_case`.

Known quirks (captures of 2025-07..2026-06): the pages are browser DOMs (``<tbody>``
inserted); grid rows start at ``ctl03`` with or without a pager, so rows are selected
by class and cells by id suffix, never by ``ctlNN``; case names are cut at 50
characters per side; zips are dirty ("00000", "06"); the case header prints the
docket without a dash before the year. A page without the expected grid or sections
and without a message is a layout change (:class:`LayoutChange`, or
:class:`LayoutChanged` raised by the text-in functions) instead of looking empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import date

import lxml.html

from ctforeclosure import dockets, towns
from ctforeclosure.items import Appearance, CourtDateItem, DocketEntryItem, PartyItem
from ctforeclosure.parsers.address import FLAG_UNPARSED, split_address
from ctforeclosure.parsers.tree import html_root

# --- page kinds (by <title>) -------------------------------------------------------
# The search form's title was never captured (docs/SITES.md §9).
TITLE_SEARCH = "Property Address Search"
TITLE_RESULTS = "Property Address Search Results"  # [CAPTURE]
TITLE_CASE_PREFIX = "Case Detail"  # "Case Detail - HHD-CV22-6160660-S" [CAPTURE]
#: Error page title: UNVERIFIED (docs/SITES.md §9).
TITLE_ERROR = "Error"

# --- search form --------------------------------------------------------------------
FORM_XPATH = '//form[@id="aspnetForm"]'
#: "ctl00$ContentPlaceHolder1$txtCityTown" [CODE]
TOWN_INPUT_XPATH = '//input[contains(@name, "txtCityTown")]'
#: "ctl00$ContentPlaceHolder1$ddlCaseType" / ddlPropertyType / ddlCaseStatus [CODE]
CASE_TYPE_SELECT = "ddlCaseType"
PROPERTY_TYPE_SELECT = "ddlPropertyType"
CASE_STATUS_SELECT = "ddlCaseStatus"
#: {"ChallengeScript":"~197",...} in the NoBot startup script [CAPTURE]
CHALLENGE_RE = re.compile(r'"ChallengeScript"\s*:\s*("(?:[^"\\]|\\.)*")')
#: The toolkit default challenge "~N" whose answer is JavaScript's ~N = -(N+1).
KNOWN_CHALLENGE_RE = re.compile(r"^~(\d+)$")
#: "ctl00$NoBot$NoBot_NoBotExtender_ClientState" [CAPTURE]
NOBOT_FIELD_SUFFIX = "NoBot_NoBotExtender_ClientState"
#: span#ctl00_ContentPlaceHolder1_lblMessage: empty on success [CAPTURE]
MESSAGE_ID = "ctl00_ContentPlaceHolder1_lblMessage"

# --- results grid -------------------------------------------------------------------
GRID_ID = "ctl00_ContentPlaceHolder1_gvPropertyResults"
GRID_XPATH = f'//table[@id="{GRID_ID}"]'
#: The GridView postback target for paging [CAPTURE]
GRID_EVENT_TARGET = "ctl00$ContentPlaceHolder1$gvPropertyResults"
ROW_XPATH = './/tr[@class="grdRow" or @class="grdRowAlt"]'
#: "1-200 of 343" [CAPTURE]; thousands separators tolerated ("1-200 of 2,196").
RECORDS_ID = "ctl00_ContentPlaceHolder1_lblRecords"
RECORDS_RE = re.compile(r"([\d,]+)\s*-\s*([\d,]+)\s+of\s+([\d,]+)")
#: javascript:__doPostBack('ctl00$ContentPlaceHolder1$gvPropertyResults','Page$2')
PAGE_ARG_RE = re.compile(r"Page\$(\d+)")
#: Pager row: <tr class="grdBorder"> with <span>1</span> for the current page.
PAGER_CURRENT_XPATH = './/tr[@class="grdBorder"]//td/span'
PAGER_LINK_XPATH = './/tr[@class="grdBorder"]//a[contains(@href, "Page$")]'

# --- case page ----------------------------------------------------------------------
CP = "ctl00_ContentPlaceHolder1_"
HEADER = CP + "CaseDetailHeader1_"
BASIC = CP + "CaseDetailBasicInfo1_"
PARTIES = CP + "CaseDetailParties1_"
DOCUMENTS = CP + "CaseDetailDocuments1_"
SCHEDULE = CP + "CaseDetailEdisonSchedule1_"
PARTIES_GRID = PARTIES + "gvParties"  # table, 4 columns, rows ctl02... [CAPTURE]
DOCUMENTS_GRID = DOCUMENTS + "gvDocuments"  # table, 5 columns [CAPTURE]
SCHEDULE_GRID = SCHEDULE + "gvCourtDates"  # table, 5 columns [CAPTURE]
#: "No Events Scheduled" row of an empty schedule [CAPTURE]
NO_EVENTS_TEXT = "No Events Scheduled"
#: Property address row, foreclosures only: span ..._lblPropertyAddress [CODE];
#: its markup and place were never captured: UNVERIFIED (docs/SITES.md §9).
PROPERTY_ADDRESS_ID = BASIC + "lblPropertyAddress"
#: "Information Updated as of: 06/27/2026" in span lblDataUpdated [CAPTURE]
DATA_UPDATED_ID = CP + "lblDataUpdated"
#: "T28 - Torts - Malpractice - Medical" [CAPTURE]
CASE_TYPE_RE = re.compile(r"^\s*(\S+)\s*-\s*(.+?)\s*$")
#: "   MAKI LAW LLC  (437597)" [CAPTURE]
ATTORNEY_RE = re.compile(r"^\s*(.*?)\s*\((\w+)\)\s*$")
#: "Denied 11/14/2022 BY THE CLERK" after an <i>RESULT:</i> label [CAPTURE]
RESULT_LABEL_RE = re.compile(r"^\s*RESULT:\s*", re.IGNORECASE)
#: ../DocumentInquiry/DocumentInquiry.aspx?DocumentNo=23571952 [CAPTURE]
DOCUMENT_NO_RE = re.compile(r"DocumentNo=(\d+)")
DATE_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")

NBSP = "\xa0"


class LayoutChanged(ValueError):
    """A page that lacks what every captured page of its kind has (a redesign?)."""

    def __init__(self, what: str, url: str | None = None) -> None:
        self.what = what
        self.url = url
        super().__init__(f"layout changed: {what}" + (f" ({url})" if url else ""))


# --- what a search step's reply is ---------------------------------------------------


@dataclass(frozen=True)
class SearchForm:
    """The search form: what a plain-HTTP client needs to post it."""

    hidden: dict[str, str]  # every hidden input, name -> value
    town_field: str | None  # "ctl00$ContentPlaceHolder1$txtCityTown"
    options: dict[str, dict[str, str]]  # select name -> {label: value}
    challenge: str | None  # "~197"
    nobot_field: str | None  # "ctl00$NoBot$NoBot_NoBotExtender_ClientState"
    message: str = ""  # lblMessage text (a NoBot refusal, a validation error)
    #: The <form> element itself, for ``form2request`` (no second parse).
    element: lxml.html.FormElement | None = field(
        default=None, repr=False, compare=False
    )
    #: False when the page was cut off before its end.
    complete: bool = True

    @property
    def nobot_answer(self) -> str | None:
        """Return the answer for a known challenge form, None for an unknown one."""
        return nobot_answer(self.challenge)

    def select_name(self, suffix: str) -> str | None:
        """Return the full name of the select whose name ends with this suffix."""
        return next((n for n in self.options if n.endswith(suffix)), None)

    def option_value(self, suffix: str, label: str) -> str:
        """Return the value of the option with this visible label (KeyError if none)."""
        name = self.select_name(suffix)
        if name is None:
            raise LayoutChanged(f"search form has no {suffix} list")
        labels = self.options[name]
        for text, value in labels.items():
            if text.casefold() == label.casefold():
                return value
        raise LayoutChanged(
            f"{suffix} offers no option {label!r} (offers {sorted(labels)})"
        )


@dataclass(frozen=True)
class ResultsPage:
    """One page of the "Property Address Search Results" grid."""

    rows: list[dict]  # CaseItem listing fields per row
    first: int | None = None  # "Records: first-last of total"
    last: int | None = None
    total: int | None = None
    current_page: int = 1
    page_numbers: list[int] = field(default_factory=list)  # linked pages in the pager
    message: str = ""
    #: The page's form when a next page exists: its postback posts this form's
    #: state with its NoBot key.
    form: SearchForm | None = field(default=None, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        """Return True when the search matched nothing (not a layout change)."""
        return not self.rows and (self.total == 0 or self.total is None)

    @property
    def next_page(self) -> int | None:
        """Return the next page's number when the pager offers it."""
        wanted = self.current_page + 1
        if wanted in self.page_numbers:
            return wanted
        return None


@dataclass(frozen=True)
class SiteError:
    """The site's error page (an expired session, a server fault)."""

    message: str
    url: str | None = None


@dataclass(frozen=True)
class CutPage:
    """A page cut off before its end (a dropped connection)."""

    url: str | None = None


@dataclass(frozen=True)
class LayoutChange:
    """A page that is not what a search step can return, or lacks what it has."""

    reason: str
    url: str | None = None
    kind: str = "unknown"  # the page's kind by its title (:func:`page_kind`)


SearchPage = SearchForm | ResultsPage | SiteError | CutPage | LayoutChange


def read_search_page(page, url: str | None = None) -> SearchPage:
    """Return what a search step's reply is, reading its HTML once.

    ``page`` is the page's text or a Scrapy response, whose own parsed tree is used
    (so ``form2request`` on :attr:`SearchForm.element` parses nothing again). An
    unexpected page is a :class:`LayoutChange`, never an empty result.
    """
    text = page if isinstance(page, str) else getattr(page, "text", None)
    if text is None:  # a binary reply (an image, a download): not a page at all
        return LayoutChange("a reply that is not text", url)
    kind = page_kind(text)
    if kind == "error":
        return SiteError(_text(_by_id(_root(page), MESSAGE_ID)), url)
    try:
        if kind == "search":
            return _search_form(_root(page), complete=not truncated(text))
        if truncated(text):
            return CutPage(url)
        if kind != "results":
            raise LayoutChanged(f"a {kind!r} page where results were expected")
        return _results(_root(page), url)
    except LayoutChanged as exc:
        return LayoutChange(exc.what, url, kind)


def truncated(text: str) -> bool:
    """Return True for a page cut off before its end (every page ends in </html>)."""
    return "</html>" not in text[-512:].lower()


def _root(page):
    """Return the lxml HTML root: the response's own tree, or one parse of text."""
    selector = getattr(page, "selector", None)
    if selector is not None and selector.type == "html":
        return selector.root
    return html_root(page if isinstance(page, str) else page.text)


def _text(node) -> str:
    """Return the node's text with &nbsp; as spaces, whitespace collapsed."""
    if node is None:
        return ""
    return re.sub(r"\s+", " ", node.text_content().replace(NBSP, " ")).strip()


def _lines(node) -> list[str]:
    """Return the node's text split at <br>, each line stripped, empties dropped."""
    if node is None:
        return []
    parts: list[str] = [node.text or ""]
    for child in node:
        if child.tag == "br":
            parts.append(child.tail or "")
        else:
            parts[-1] += child.text_content() + (child.tail or "")
    cleaned = [re.sub(r"\s+", " ", p.replace(NBSP, " ")).strip() for p in parts]
    return [p for p in cleaned if p]


def _date(text: str | None) -> date | None:
    match = DATE_RE.search(text or "")
    if not match:
        return None
    month, day, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _int(text: str) -> int:
    """Return "2,196" as 2196; raise :class:`LayoutChanged` for ",," or 5,000 digits."""
    try:
        return int(text.replace(",", ""))
    except ValueError:
        raise LayoutChanged(f"a count that is not a number: {text[:40]!r}") from None


def _id_index(doc) -> dict:
    """Return every element with an id, by id (one pass instead of one per lookup)."""
    return {ident: el for el in doc.iter() if (ident := el.get("id"))}


def _suffixes(row) -> dict:
    """Return a row's elements by id suffix ("..._ctl05_lblZip" → "lblZip")."""
    return {
        ident.rsplit("_", 1)[-1]: el for el in row.iter() if (ident := el.get("id"))
    }


def _by_id(doc, ident: str):
    if isinstance(doc, dict):
        return doc.get(ident)
    found = doc.xpath(f'//*[@id="{ident}"]')
    return found[0] if found else None


def page_kind(text: str) -> str:
    """Return "results", "search", "case", "error" or "unknown" from the title."""
    match = re.search(r"<title>\s*(.*?)\s*</title>", text[:4000], re.S | re.I)
    title = re.sub(r"\s+", " ", match.group(1)).strip() if match else ""
    if title == TITLE_RESULTS:
        return "results"
    if title == TITLE_SEARCH:
        return "search"
    if title.startswith(TITLE_CASE_PREFIX):
        return "case"
    if title == TITLE_ERROR:
        return "error"
    return "unknown"


def nobot_answer(challenge: str | None) -> str | None:
    """Return what the page's script puts in the NoBot field for "~N": -(N+1)."""
    match = KNOWN_CHALLENGE_RE.match((challenge or "").strip())
    if not match:
        return None
    return str(~int(match.group(1)))


def parse_challenge(text: str) -> str | None:
    """Return the NoBot ChallengeScript of any page, or None when there is none."""
    return _challenge(_root(text))


def _challenge(root) -> str | None:
    """Return the ChallengeScript of the page's NoBot startup script, if any."""
    for script in root.iter("script"):
        if match := CHALLENGE_RE.search(script.text or ""):
            return json.loads(match.group(1))
    return None


def parse_search_form(text: str) -> SearchForm:
    """Return hidden fields, option values, the challenge and message of the form."""
    return _search_form(_root(text))


def _search_form(root, complete: bool = True) -> SearchForm:
    forms = root.xpath(FORM_XPATH)
    if not forms:
        raise LayoutChanged("search page has no aspnetForm")
    form = forms[0]
    hidden = {
        i.get("name"): i.get("value") or ""
        for i in form.xpath('.//input[@type="hidden"]')
        if i.get("name")
    }
    options = {}
    for select in form.xpath(".//select[@name]"):
        options[select.get("name")] = {
            _text(o): o.get("value") if o.get("value") is not None else _text(o)
            for o in select.xpath(".//option")
        }
    town = root.xpath(TOWN_INPUT_XPATH)
    return SearchForm(
        hidden=hidden,
        town_field=town[0].get("name") if town else None,
        options=options,
        challenge=_challenge(root),
        nobot_field=next((n for n in hidden if n.endswith(NOBOT_FIELD_SUFFIX)), None),
        message=_text(_by_id(root, MESSAGE_ID)),
        element=form,
        complete=complete,
    )


def _parse_row(row) -> dict:
    """Return the listing fields of one grid row (cells by id suffix)."""
    cells = row.findall("td")
    by = _suffixes(row)
    street = by.get("lblStreetAddress")
    zip_ = by.get("lblZip")
    link = by.get("hlnkDocketNo")
    disposition = by.get("lblDisposition")
    if len(cells) < 7 or link is None:
        raise LayoutChanged(f"results row with {len(cells)} cells and no docket link")
    display = _text(link)
    try:
        docket_no = dockets.compact(display)
    except dockets.InvalidDocket:
        raise LayoutChanged(f"results row docket link {display[:40]!r}") from None
    return {
        "docket_no": docket_no,
        "docket_display": display,
        "listing_town": _text(cells[0]),
        "listing_street": "\n".join(_lines(street)) if street is not None else None,
        "listing_zip": _text(zip_) if zip_ is not None else None,
        "case_name": _text(cells[3]) or None,
        "property_type": _text(cells[5]) or None,
        "listing_disposition": _text(disposition) or None,
        "paperless": "imgPaperless" in by,
    }


def parse_grid_rows(text: str) -> list[dict]:
    """Return the rows of a bare results table (a saved fragment, no page around it)."""
    grids = _root(text).xpath(GRID_XPATH)
    if not grids:
        raise LayoutChanged("no results grid")
    return [_parse_row(r) for r in grids[0].xpath(ROW_XPATH)]


def parse_results(text: str, url: str | None = None) -> ResultsPage:
    """Return one results page; raise :class:`LayoutChanged` if it is not one."""
    return _results(_root(text), url)


def _results(root, url: str | None) -> ResultsPage:
    """Return the results page of this tree; raise :class:`LayoutChanged` if not one.

    A page with no grid is an empty result only when the site says so in
    ``lblMessage``; without grid and message it is a layout change, never "0 rows".
    """
    ids = _id_index(root)
    message = _text(ids.get(MESSAGE_ID))
    records = RECORDS_RE.search(_text(ids.get(RECORDS_ID)))
    first = last = total = None
    if records:
        first, last, total = (_int(g) for g in records.groups())
    grid = ids.get(GRID_ID)
    if grid is None or grid.tag != "table":
        if message or total == 0:
            return ResultsPage(rows=[], total=total or 0, message=message)
        raise LayoutChanged("no results grid and no message", url)
    rows = [_parse_row(r) for r in grid.xpath(ROW_XPATH)]
    if not rows and not message and total:
        raise LayoutChanged(f"grid has no rows but Records says {total}", url)
    if rows and total is None:
        raise LayoutChanged("grid rows without a Records count", url)
    current_page, numbers = _pager(grid)
    page = ResultsPage(
        rows=rows,
        first=first,
        last=last,
        total=total,
        current_page=current_page,
        page_numbers=numbers,
        message=message,
    )
    if page.next_page is not None:  # its postback posts this page's form
        page = replace(page, form=_search_form(root))
    return page


def _pager(grid) -> tuple[int, list[int]]:
    """Return the current page's number and the numbers the pager links to."""
    current = [_text(s) for s in grid.xpath(PAGER_CURRENT_XPATH)]
    numbers = {
        _int(m.group(1))
        for a in grid.xpath(PAGER_LINK_XPATH)
        for m in [PAGE_ARG_RE.search(a.get("href", ""))]
        if m
    }
    current_page = _int(current[0]) if current and current[0].isdigit() else 1
    return current_page, sorted(numbers)


def page_argument(number: int) -> str:
    """Return the ``__EVENTARGUMENT`` that asks the grid for page N."""
    return f"Page${number}"


# --- case page ----------------------------------------------------------------------


def _labelled(doc, ident: str) -> str:
    """Return a header span's value without its bold label ("Prefix: HD2" → "HD2")."""
    node = _by_id(doc, ident)
    if node is None:
        return ""
    text = _text(node)
    bold = node.xpath("./b")
    if bold:
        label = _text(bold[0])
        if text.startswith(label):
            text = text[len(label) :].strip()
    return text


def _value(doc, ident: str) -> str | None:
    return _text(_by_id(doc, ident)) or None


def _parse_appearance(row) -> Appearance | None:
    info = row.xpath('.//span[contains(@id, "_lblAppearanceInfo1")]')
    if not info:
        return None
    lines = _lines(info[0])
    if not lines:
        return None
    head = ATTORNEY_RE.match(lines[0])
    attorney, juris = (head.group(1), head.group(2)) if head else (lines[0], None)
    address_lines = [re.sub(r"\s+,", ",", line) for line in lines[1:]]
    file_date = row.xpath('.//span[contains(@id, "_lblAppearanceInfo2")]')
    return Appearance(
        attorney=attorney,
        juris_no=juris,
        address=", ".join(address_lines) or None,
        file_date=_date(_text(file_date[0])) if file_date else None,
        efiled=bool(row.xpath('.//img[contains(@id, "imgAtyE")]')),
    )


def _parse_parties(doc) -> list[PartyItem]:
    grid = _by_id(doc, PARTIES_GRID)
    if grid is None:
        raise LayoutChanged("case page has no parties grid")
    parties = []
    for row in grid.xpath("./tr | ./tbody/tr"):
        number = row.xpath('.//span[contains(@id, "_lblPlaintDefPartyNo")]')
        if not number:
            continue  # header row
        cells = row.xpath("./td")
        party_no = _text(number[0])
        name = row.xpath('.//span[contains(@id, "_lblPtyPartyName")]')
        appearances = [
            appearance
            for table in row.xpath('.//table[contains(@id, "_gvAttyInfo")]')
            for r in table.xpath("./tr | ./tbody/tr")
            for appearance in [_parse_appearance(r)]
            if appearance is not None
        ]
        non_appearing = row.xpath('.//span[contains(@id, "_lblNonAppearing")]')
        parties.append(
            PartyItem(
                party_no=party_no,
                role=party_no.split("-", 1)[0],
                name=_text(name[0]) if name else "",
                category=_text(cells[-1]) or None if cells else None,
                non_appearing=bool(non_appearing)
                and "Non-Appearing" in _text(non_appearing[0]),
                appearances=appearances,
            )
        )
    return parties


def _span_text(by: dict, suffix: str) -> str | None:
    found = by.get(suffix)
    return _text(found) or None if found is not None else None


def _parse_entries(doc) -> list[DocketEntryItem]:
    grid = _by_id(doc, DOCUMENTS_GRID)
    if grid is None:
        raise LayoutChanged("case page has no documents grid")
    entries = []
    for row in grid.xpath("./tr | ./tbody/tr"):
        cells = row.findall("td")
        if len(cells) < 5:
            continue  # header (th) row
        by = _suffixes(row)
        link = by.get("hlnkDocument")
        if link is not None:
            description = _text(link)
            doc_no = DOCUMENT_NO_RE.search(link.get("href", ""))
        else:
            description = _span_text(by, "lblDocumentText") or ""
            doc_no = None
        result = _span_text(by, "lblResult")
        entries.append(
            DocketEntryItem(
                entry_no=_text(cells[0]) or None,
                file_date=_date(_text(cells[1])),
                filed_by=_span_text(by, "lblFiledBy"),
                description=description,
                add_desc=_span_text(by, "lblAddDesc"),
                result=RESULT_LABEL_RE.sub("", result) if result else None,
                notes=_span_text(by, "lblNotes"),
                arguable=_text(cells[4]) or None,
                document_no=doc_no.group(1) if doc_no else None,
            )
        )
    return entries


def _parse_schedule(doc) -> list[CourtDateItem]:
    grid = _by_id(doc, SCHEDULE_GRID)
    if grid is None:
        raise LayoutChanged("case page has no scheduled court dates grid")
    dates = []
    for row in grid.xpath("./tr | ./tbody/tr"):
        cells = row.xpath("./td")
        if not cells or NO_EVENTS_TEXT in _text(row):
            continue
        if len(cells) < 5:
            raise LayoutChanged(f"court date row with {len(cells)} cells")
        dates.append(
            CourtDateItem(
                court_date=_date(_text(cells[1])),
                court_time=_text(cells[2]) or None,
                description=_text(cells[3]),
                status=_text(cells[4]) or None,
            )
        )
    return dates


def parse_case(text: str, url: str | None = None) -> dict:
    """Return the CaseItem fields of a case page (parties, entries, dates included).

    Raises :class:`LayoutChanged` when the header or a grid is missing.
    """
    doc = _id_index(_root(text))
    docket_text = _value(doc, HEADER + "lblDocketNo")
    if not docket_text:
        raise LayoutChanged("case page has no docket number in its header", url)
    try:
        docket_no = dockets.compact(docket_text)
    except dockets.InvalidDocket as exc:
        raise LayoutChanged(f"case header docket {docket_text!r}", url) from exc
    try:
        parties = _parse_parties(doc)
        entries = _parse_entries(doc)
        court_dates = _parse_schedule(doc)
    except LayoutChanged as exc:
        raise LayoutChanged(exc.what, url) from None
    case_type_full = _value(doc, BASIC + "lblBasicCaseType") or ""
    type_match = CASE_TYPE_RE.match(case_type_full)
    updated = _by_id(doc, DATA_UPDATED_ID)
    fields = {
        "docket_no": docket_no,
        "caption": _value(doc, HEADER + "lblCaseCaption"),
        "prefix": _labelled(doc, HEADER + "lblPrefixSuffix") or None,
        "case_type_code": (
            type_match.group(1)
            if type_match
            else _labelled(doc, HEADER + "lblCaseType") or None
        ),
        "case_type": type_match.group(2) if type_match else (case_type_full or None),
        "file_date": _date(_labelled(doc, HEADER + "lblFileDate")),
        "return_date": _date(_labelled(doc, HEADER + "lblReturnDate")),
        "court_location": _value(doc, BASIC + "lblBasicLocation"),
        "list_type": _value(doc, BASIC + "lblBasicListType"),
        "last_action_date": _date(_value(doc, BASIC + "lblBasicLastAction")),
        "disposition_date": _date(_value(doc, BASIC + "lblBasicDispositionDate")),
        "disposition": _value(doc, BASIC + "lblBasicDisposition"),
        "disposition_judge": _value(doc, BASIC + "lblBasicDispJudge"),
        "information_updated": _date(_text(updated)) if updated is not None else None,
        "parties": parties,
        "docket_entries": entries,
        "court_dates": court_dates,
        "flags": [],
    }
    fields.update(_property_address(_value(doc, PROPERTY_ADDRESS_ID)))
    if fields.pop("_unparsed", False):
        fields["flags"].append(FLAG_UNPARSED)
    return fields


def _property_address(raw: str | None) -> dict:
    address = split_address(raw)
    if address is None:
        return {"property_address_raw": None}
    if not address.parsed:
        return {"property_address_raw": address.raw, "_unparsed": True}
    town = towns.match(address.town)
    return {
        "property_address_raw": address.raw,
        "property_street": address.street,
        "property_unit": address.unit,
        "property_town": town.name if town else address.town,
        "property_state": address.state,
        "property_zip": address.zip,
        "_unparsed": not address.complete,
    }
