"""A plain-HTTP client of the replica's ASP.NET pages, for the replica's own tests.

It does what a careful non-browser client must: keep the session cookie, post back
every hidden field the page rendered, answer the NoBot challenge, pick dropdown
options by their visible label.
"""

from __future__ import annotations

import re

import requests
from parsel import Selector

CHALLENGE_RE = re.compile(r'"ChallengeScript":"~(\d+)"')
NOBOT_FIELD = "ctl00$NoBot$NoBot_NoBotExtender_ClientState"
GRID_NAME = "ctl00$ContentPlaceHolder1$gvPropertyResults"


def hidden_fields(html: str) -> dict[str, str]:
    """Return every hidden input of the page, with the NoBot answer filled in."""
    sel = Selector(html)
    data = {
        i.attrib["name"]: i.attrib.get("value", "")
        for i in sel.css("input[type=hidden]")
        if "name" in i.attrib
    }
    match = CHALLENGE_RE.search(html)
    if match:
        data[NOBOT_FIELD] = str(~int(match.group(1)))
    return data


def option_value(html: str, select_suffix: str, label: str) -> str:
    """Return the value of the option whose visible text is ``label``."""
    sel = Selector(html)
    for opt in sel.css(f"select[name$='{select_suffix}'] option"):
        if (opt.css("::text").get() or "").strip() == label:
            return opt.attrib["value"]
    raise LookupError(f"no option {label!r} in {select_suffix}")


class Client:
    """One browsing session against the replica's judiciary pages."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.page: requests.Response | None = None

    def get(self, path: str, **kwargs) -> requests.Response:
        self.page = self.http.get(f"{self.base}/{path}", timeout=30, **kwargs)
        return self.page

    def search_form(self) -> requests.Response:
        return self.get("PropertyAddressSearch.aspx")

    def search_data(
        self,
        town: str,
        *,
        case_type="Foreclosure Cases",
        property_type="Residential Properties",
        case_status="Active Cases",
    ) -> dict[str, str]:
        html = self.page.text
        data = hidden_fields(html)
        prefix = "ctl00$ContentPlaceHolder1$"
        data[prefix + "txtCityTown"] = town
        data[prefix + "ddlCaseType"] = option_value(html, "ddlCaseType", case_type)
        data[prefix + "ddlPropertyType"] = option_value(
            html, "ddlPropertyType", property_type
        )
        data[prefix + "ddlCaseStatus"] = option_value(
            html, "ddlCaseStatus", case_status
        )
        btn = Selector(html).css("input[name$='btnSubmit']")[0]
        data[btn.attrib["name"]] = btn.attrib["value"]
        return data

    def post(self, path: str, data: dict, **kwargs) -> requests.Response:
        self.page = self.http.post(
            f"{self.base}/{path}", data=data, timeout=30, **kwargs
        )
        return self.page

    def search(self, town: str, **options) -> requests.Response:
        self.search_form()
        return self.post(
            "PropertyAddressSearch.aspx", self.search_data(town, **options)
        )

    def page_data(self, n: int) -> dict[str, str]:
        data = hidden_fields(self.page.text)
        data["__EVENTTARGET"] = GRID_NAME
        data["__EVENTARGUMENT"] = f"Page${n}"
        return data

    def goto_page(self, n: int) -> requests.Response:
        return self.post("PropertyAddressSearchResults.aspx", self.page_data(n))


def grid_rows(html: str) -> list[dict]:
    """Return the results grid's data rows as dicts (town, street, zip, ...)."""
    rows = []
    for tr in Selector(html).css("tr.grdRow, tr.grdRowAlt"):
        street = tr.css("span[id$='_lblStreetAddress']")[0]
        lines = [t.strip() for t in street.css("::text").getall()]
        rows.append(
            {
                "town": tr.xpath("./td[1]/text()").get().strip(),
                "street": "\n".join(line for line in lines if line),
                "zip": tr.css("span[id$='_lblZip']::text").get(default=""),
                "case_name": tr.xpath("./td[4]/text()").get(default="").strip(),
                "docket": tr.css("a[id$='_hlnkDocketNo']::text").get(),
                "property_type": tr.xpath("./td[6]/text()").get(default="").strip(),
                "disposition": tr.css("span[id$='_lblDisposition']::text").get(
                    default=""
                ),
                "row_id": street.attrib["id"].split("_")[-2],
                "class": tr.attrib["class"],
            }
        )
    return rows


def records(html: str) -> str:
    """Return the text of lblRecords ("1-200 of 343")."""
    return (
        Selector(html)
        .css("#ctl00_ContentPlaceHolder1_lblRecords::text")
        .get(default="")
    )
