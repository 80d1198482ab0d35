"""Parse the Judicial Branch's pending foreclosure sales pages (docs/SITES.md §5).

Source: ``CTJUD_SALES_BASE_URL`` (default
https://sso.eservices.jud.ct.gov/foreclosures/Public). Three page kinds, one entry
point each; every one raises :class:`LayoutChanged` when the page lacks what its kind
always has, so a redesign is reported, never read as "no sales":

1. :func:`parse_town_index` - ``PendPostbyTownList.aspx``: the towns with pending
   sales and their counts, in either markup scrapers have seen (§5.1): (a) a flat
   list of links in ``div#…Panel1`` followed by spans " (", n, ")"; (b) a
   ``GridView1`` table with a ``lblTownCount`` span per row, the town value in the
   link's query sometimes carrying trailing spaces ("Milford   ").
2. :func:`parse_town_sales` - ``PendPostbyTownDetails.aspx?town=<Town>``: one row per
   sale (§5.2, CAPTURE: Fairfield 2026-08-10). Ids are matched by suffix, since
   ``ctl00_cphBody_…`` and ``cphBody_…`` both occur.
3. :func:`parse_notice` - ``PendPostDetailPublic.aspx?PostingId=N``: the full notice
   (§5.3, code and mocks only: UNVERIFIED).

Sale times are America/New_York; a sale's moment is returned timezone-aware.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlsplit

from ctforeclosure import dockets
from ctforeclosure.parsers.address import FLAG_UNPARSED, split_address
from ctforeclosure.parsers.court_clock import COURT_TZ
from ctforeclosure.parsers.judiciary import LayoutChanged
from ctforeclosure.parsers.tree import html_root

__all__ = [
    "IndexTown",
    "LayoutChanged",
    "SaleRow",
    "TownSales",
    "parse_notice",
    "parse_town_index",
    "parse_town_sales",
    "split_heading",
]

SALE_TZ = COURT_TZ

# Index, markup (a): div#ctl00_cphBody_Panel1 > a[href*=PendPostbyTownDetails] "Avon"
INDEX_PANEL_SUFFIX = "Panel1"
# Index, markup (b): table#cphBody_GridView1 ... span#cphBody_GridView1_lblTownCount_0
INDEX_COUNT_ID = "lblTownCount"
# Town list: table#ctl00_cphBody_GridView1 (capture) or #cphBody_GridView1 (live)
GRID_SUFFIX = "GridView1"
# Town list header, as captured.
GRID_HEADER = ("#", "Sale Date", "Docket Number", "Type of Sale & Property Address")
# span#ctl00_cphBody_GridView1_ctl02_Label1: "08/15/2026<br>12:00PM"
WHEN_SUFFIX = "_Label1"
# span#ctl00_cphBody_GridView1_ctl02_Label2: "PUBLIC AUCTION FORECLOSURE SALE:
# Residential <br> ADDRESS: 12 Example Road Fairfield CT"
HEADING_SUFFIX = "_Label2"
# a[href="PendPostDetailPublic.aspx?PostingId=61252"] "View Full Notice"
NOTICE_LINK = "PendPostDetailPublic.aspx"
# a[href="PendPostbyDocketNo.aspx?DocketNo=FBTCV256151688S"]
DOCKET_LINK = "PendPostbyDocketNo.aspx"
# span#ctl00_cphBody_lbltown "Fairfield"
TOWN_LABEL_SUFFIX = "cphBody_lbltown"
#: A pager row's markup on this site is unknown (docs/SITES.md §5.2): UNVERIFIED.
#: A row of page-number links, as ASP.NET GridViews render one, is reported.
PAGER_RE = re.compile(r"__doPostBack\([^)]*GridView1[^)]*Page\$", re.IGNORECASE)
#: "CANCELLED - JUDGMENT OPENED AND VACATED" appended to a listed sale [CODE].
CANCELLED_RE = re.compile(r"\bCANCELL?ED\b.*$", re.IGNORECASE | re.DOTALL)
#: The notice's status when cancelled: "This Sale is Cancelled." [CODE/MOCK]
NOTICE_CANCELLED_RE = re.compile(r"cancell?ed", re.IGNORECASE)
#: "certified check ... in the amount of $53,000" [CODE/MOCK]: UNVERIFIED wording.
DEPOSIT_RE = re.compile(
    r"(?:deposit|certified\s+check|bank\s+check)[^$]{0,200}?\$\s*([\d,]+(?:\.\d{1,2})?)",
    re.IGNORECASE | re.DOTALL,
)
PHONE_RE = re.compile(r"\(?\b\d{3}\)?[\s.-]*\d{3}[\s.-]*\d{4}\b")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
DATE_FORMATS = ("%m/%d/%Y", "%b %d, %Y", "%B %d, %Y")
TIME_RE = re.compile(r"(\d{1,2}):(\d{2})\s*([AP])\.?M\.?", re.IGNORECASE)
#: "07/25/202612:00PM": one scraper saw the notice's date and time glued [CODE].
GLUED_RE = re.compile(r"^(\d{1,2}/\d{1,2}/\d{4})\s*(\d{1,2}:\d{2}\s*[AP]M)$", re.I)


@dataclass(frozen=True)
class IndexTown:
    """A town on the index: its name as printed (stripped), its count, its link."""

    name: str  # "Milford"
    count: int | None  # 3
    href: str  # "PendPostbyTownDetails.aspx?town=Milford"


@dataclass(frozen=True)
class SaleRow:
    """One row of a town's sales list."""

    posting_id: int  # 61252
    docket_no: str  # "FBTCV256151688S"
    sale_date: date | None
    sale_time: str | None  # "12:00PM"
    sale_at: datetime | None  # aware, America/New_York
    heading: str  # "PUBLIC AUCTION FORECLOSURE SALE: Residential ADDRESS: ..."
    sale_type: str | None  # "PUBLIC AUCTION FORECLOSURE SALE"
    property_type: str | None  # "Residential Condominium"
    address_raw: str | None  # "12 Example Road Fairfield CT"
    status: str  # "scheduled" | "cancelled"
    cancel_reason: str | None  # "CANCELLED - JUDGMENT OPENED AND VACATED"


@dataclass
class TownSales:
    """A town's sales list: the town it names, its rows, and whether it had a pager."""

    town: str | None
    rows: list[SaleRow] = field(default_factory=list)
    pager: bool = False


def _text(node) -> str:
    """Return the node's text with whitespace (and ``<br>``) collapsed to spaces."""
    return re.sub(r"\s+", " ", " ".join(node.itertext()).replace("\xa0", " ")).strip()


def _lines(node) -> list[str]:
    """Return the node's text split at ``<br>``, each line stripped, empty ones out."""
    parts, current = [], [node.text or ""]
    for child in node:
        if child.tag == "br":
            parts.append("".join(current))
            current = [child.tail or ""]
        else:
            current.append("".join(child.itertext()) + (child.tail or ""))
    parts.append("".join(current))
    return [
        re.sub(r"\s+", " ", p.replace("\xa0", " ")).strip() for p in parts if p.strip()
    ]


def _by_suffix(root, suffix: str) -> list:
    return root.xpath(
        "//*[@id and substring(@id, string-length(@id) - string-length($s) + 1) = $s]",
        s=suffix,
    )


def _query_value(href: str, key: str) -> str | None:
    query = parse_qs(urlsplit(href).query, keep_blank_values=True)
    for name, values in query.items():
        if name.lower() == key.lower() and values:
            return values[0]
    return None


# --- 1. the town index -----------------------------------------------------------


def parse_town_index(text: str, url: str | None = None) -> list[IndexTown]:
    """Return the towns on the index with their counts, from either markup."""
    root = html_root(text)
    grids = [g for g in _by_suffix(root, GRID_SUFFIX) if g.tag == "table"]
    if grids:
        return _index_grid(grids[0])
    panels = [p for p in _by_suffix(root, INDEX_PANEL_SUFFIX) if p.tag == "div"]
    if panels:
        return _index_panel(panels[0])
    raise LayoutChanged("sales town index: neither Panel1 nor GridView1", url)


def _index_panel(panel) -> list[IndexTown]:
    towns = []
    for link in panel.xpath(".//a[contains(@href, 'PendPostbyTownDetails')]"):
        spans = []
        for sibling in link.itersiblings():
            if sibling.tag == "a":
                break
            spans.append(_text(sibling))
        digits = re.search(r"\d+", "".join(spans))
        towns.append(
            IndexTown(
                name=_text(link),
                count=int(digits.group()) if digits else None,
                href=link.get("href"),
            )
        )
    return towns


def _index_grid(grid) -> list[IndexTown]:
    towns = []
    for row in grid.xpath(".//tr[td]"):
        links = row.xpath(".//a[contains(@href, 'PendPostbyTownDetails')]")
        if not links:
            continue
        count = row.xpath(f".//span[contains(@id, '{INDEX_COUNT_ID}')]")
        digits = re.search(r"\d+", _text(count[0])) if count else None
        href = links[0].get("href")
        name = (_query_value(href, "town") or _text(links[0])).strip()
        towns.append(
            IndexTown(
                name=name, count=int(digits.group()) if digits else None, href=href
            )
        )
    return towns


# --- 2. a town's sales list ------------------------------------------------------


def parse_town_sales(text: str, url: str | None = None) -> TownSales:
    """Return a town's sales rows; raise LayoutChanged when the table is not there."""
    root = html_root(text)
    grids = [g for g in _by_suffix(root, GRID_SUFFIX) if g.tag == "table"]
    if not grids:
        raise LayoutChanged("sales list: no GridView1 table", url)
    grid = grids[0]
    header = tuple(_text(th) for th in grid.xpath(".//tr/th"))[:4]
    if header != GRID_HEADER:
        raise LayoutChanged(f"sales list: header {header!r}", url)
    town = _by_suffix(root, TOWN_LABEL_SUFFIX)
    result = TownSales(town=_text(town[0]) if town else None)
    for row in grid.xpath("./tr[td] | ./tbody/tr[td]"):
        if row.xpath(f".//a[contains(@href, '{NOTICE_LINK}')]"):
            result.rows.append(_sale_row(row, url))
        elif PAGER_RE.search(" ".join(a.get("href", "") for a in row.iter("a"))):
            result.pager = True
    return result


def _sale_row(row, url) -> SaleRow:
    notice = row.xpath(f".//a[contains(@href, '{NOTICE_LINK}')]")[0].get("href")
    posting = _query_value(notice, "PostingId")
    docket_link = row.xpath(f".//a[contains(@href, '{DOCKET_LINK}')]")
    when = _span(row, WHEN_SUFFIX)
    heading_node = _span(row, HEADING_SUFFIX)
    if not posting or not posting.strip().isdigit() or not docket_link or when is None:
        raise LayoutChanged("sales list: a row without posting id, docket or date", url)
    docket_text = _query_value(docket_link[0].get("href"), "DocketNo") or _text(
        docket_link[0]
    )
    try:
        docket = dockets.compact(docket_text)
    except dockets.InvalidDocket as exc:
        raise LayoutChanged(f"sales list: docket {docket_text!r}", url) from exc
    day, clock = _when(_lines(when))
    heading = _text(heading_node) if heading_node is not None else ""
    # Where the site appends "CANCELLED - ..." is known only from code [CODE]: the
    # heading, else any cell but the notice link's.
    cells = [
        _text(td)
        for td in row.xpath("./td[not(.//a[contains(@href, $n)])]", n=NOTICE_LINK)
    ]
    cancel = CANCELLED_RE.search(heading) or CANCELLED_RE.search(" ".join(cells))
    sale_type, property_type, address = split_heading(heading)
    return SaleRow(
        posting_id=int(posting),
        docket_no=docket,
        sale_date=day,
        sale_time=clock,
        sale_at=sale_moment(day, clock),
        heading=heading,
        sale_type=sale_type,
        property_type=property_type,
        address_raw=address,
        status="cancelled" if cancel else "scheduled",
        cancel_reason=cancel.group().strip() if cancel else None,
    )


def _span(row, suffix: str):
    found = [s for s in row.iter() if (s.get("id") or "").endswith(suffix)]
    return found[0] if found else None


def _when(lines: list[str]) -> tuple[date | None, str | None]:
    if len(lines) == 1 and (glued := GLUED_RE.match(lines[0])):
        lines = [glued.group(1), glued.group(2)]
    day = parse_date(lines[0]) if lines else None
    clock = lines[1].replace(" ", "").upper() if len(lines) > 1 else None
    return day, clock


def parse_date(text: str | None) -> date | None:
    """Return "08/15/2026", "Aug 29, 2026" or "August 29, 2026" as a date."""
    text = (text or "").strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def sale_moment(day: date | None, clock: str | None) -> datetime | None:
    """Return the sale's moment, aware (America/New_York); midnight if no time."""
    if day is None:
        return None
    match = TIME_RE.search(clock or "")
    moment = time(0, 0)
    if match:
        hour = int(match.group(1)) % 12 + (12 if match.group(3).upper() == "P" else 0)
        moment = time(hour, int(match.group(2)))
    return datetime.combine(day, moment, tzinfo=SALE_TZ)


def split_heading(heading: str) -> tuple[str | None, str | None, str | None]:
    """Split "SALE TYPE: property type ADDRESS: text" into its three parts."""
    text = CANCELLED_RE.sub("", heading).strip()
    head, _, address = text.partition("ADDRESS:")
    sale_type, _, property_type = head.partition(":")
    return (
        sale_type.strip() or None,
        property_type.strip() or None,
        address.strip() or None,
    )


def split_sale_address(raw: str | None, town: str | None) -> dict:
    """Return the address's parts ("street", "unit", "town", "zip") and its flags.

    The list prints "12 Example Road Fairfield CT" as well as "34 Sample Road,
    Fairfield, CT 06824" (CAPTURE): the case pages' splitter reads the second; the
    first is split at the list's own town name. Anything else stays raw, flagged.
    """
    parts = {"street": None, "unit": None, "town": None, "zip": None, "flags": []}
    if not raw:
        parts["flags"].append("address_missing")
        return parts
    found = split_address(raw)
    if found is not None and found.parsed and found.complete:
        parts.update(
            street=found.street, unit=found.unit, town=found.town, zip=found.zip
        )
        return parts
    if town:
        tail = re.compile(
            rf"^(?P<street>.+?)[,\s]+{re.escape(town)},?\s+CT\.?(?:\s+(?P<zip>\d{{5}}))?$",
            re.IGNORECASE,
        ).match(re.sub(r"\s+", " ", raw).strip())
        if tail:
            parts.update(street=tail["street"].strip(" ,"), town=town, zip=tail["zip"])
            return parts
    parts["flags"].append(FLAG_UNPARSED)
    return parts


# --- 3. the notice ---------------------------------------------------------------

#: The notice's span ids (suffixes; "ctl00_" may or may not lead) [CODE/MOCK].
NOTICE_IDS = {
    "caption": "uEfileCaseInfo1_lblCaseCap",
    "docket": "uEfileCaseInfo1_hlnkDocketNo",
    "sale_date": "cphBody_lblSaleDate",
    "sale_time": "cphBody_lblSaleTime",
    "inspection": "cphBody_lblInsp",
    "notice_from": "cphBody_lblNoticeFrom",
    "notice_thru": "cphBody_lblNoticeThru",
    "heading": "cphBody_lblHeading",
    "body": "cphBody_lblBody",
    "committee": "cphBody_lblCommittee",
    "status": "cphBody_lblStatus",
}
PHOTO_SUFFIX = "cphBody_Img1"


def parse_notice(text: str, url: str | None = None) -> dict:
    """Return what a sale's notice says; raise LayoutChanged without date or docket."""
    root = html_root(text)
    nodes = {k: (_by_suffix(root, s) or [None])[0] for k, s in NOTICE_IDS.items()}
    if nodes["sale_date"] is None or nodes["docket"] is None:
        raise LayoutChanged("sale notice: no lblSaleDate or docket link", url)
    value = {k: (_text(n) if n is not None else None) or None for k, n in nodes.items()}
    day, clock = _when([v for v in (value["sale_date"], value["sale_time"]) if v])
    sale_type, property_type, address = split_heading(value["heading"] or "")
    body = "\n".join(_lines(nodes["body"])) if nodes["body"] is not None else None
    cancelled = bool(value["status"] and NOTICE_CANCELLED_RE.search(value["status"]))
    photo = (_by_suffix(root, PHOTO_SUFFIX) or [None])[0]
    return {
        "caption": value["caption"],
        "docket_no": _compact_or_none(value["docket"]),
        "sale_date": day,
        "sale_time": clock,
        "sale_at": sale_moment(day, clock),
        "heading": value["heading"],
        "sale_type": sale_type,
        "property_type": property_type,
        "address_raw": address,
        "inspection": value["inspection"],
        "notice_from": parse_date(value["notice_from"]),
        "notice_thru": parse_date(value["notice_thru"]),
        "body": body or None,
        "deposit": parse_deposit(body),
        **parse_committee(nodes["committee"]),
        "status": "cancelled" if cancelled else "scheduled",
        "notice_status": value["status"],
        "photo_url": photo.get("src") if photo is not None else None,
    }


def _compact_or_none(text: str | None) -> str | None:
    try:
        return dockets.compact(text) if text else None
    except dockets.InvalidDocket:
        return None


def parse_deposit(body: str | None) -> Decimal | None:
    """Return the deposit the notice asks bidders for, or None when it names none."""
    match = DEPOSIT_RE.search(body or "")
    if not match:
        return None
    try:
        return Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:
        return None


def parse_committee(node) -> dict:
    """Return the committee's name, address, phone and email from its lines."""
    lines = _lines(node) if node is not None else []
    phone = next((m.group() for ln in lines if (m := PHONE_RE.search(ln))), None)
    email = next((m.group() for ln in lines if (m := EMAIL_RE.search(ln))), None)
    rest = [ln for ln in lines if not PHONE_RE.search(ln) and not EMAIL_RE.search(ln)]
    return {
        "committee_name": rest[0] if rest else None,
        "committee_address": ", ".join(rest[1:]) or None,
        "committee_phone": phone,
        "committee_email": email,
    }
