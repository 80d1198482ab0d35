"""The case page, CaseDetail/PublicCaseDetail.aspx (docs/SITES.md §3).

The section template (templates/case_detail.html) and the grid-row templates
(templates/case_*.html) were cut from the real case-detail capture. A foreclosure
adds the ``PropAddressRow`` after Court Location: its markup and place were never
captured (UNVERIFIED, docs/SITES.md §3.3), so it reuses its neighbours' cells with the
ids scrapers use. Defendants' home addresses are not on the real page, so not here
either.
"""

from __future__ import annotations

from ctforeclosure import dockets

from .data import Case, fmt
from .html import e, fill

PARTIES = "ctl00_ContentPlaceHolder1_CaseDetailParties1_gvParties"
DOCUMENTS = "ctl00_ContentPlaceHolder1_CaseDetailDocuments1_gvDocuments"
SCHEDULE = "ctl00_ContentPlaceHolder1_CaseDetailEdisonSchedule1_gvCourtDates"
BASIC = "ctl00_ContentPlaceHolder1_CaseDetailBasicInfo1"
PAPERLESS_IMG = (
    '<img id="ctl00_ContentPlaceHolder1_CaseDetailHeader1_imgPaperless" '
    'title="This case is a paperless file" alt="This case is a paperless file" '
    'src="../images/lile.gif" style="border-width:0px;">'
)
DOCUMENT_IMG = (
    '<img id="{pre}_imgDoc" title="Click on description to view pdf file" '
    'alt="Click on description to view p d f file" src="../images/Document.gif" '
    'style="height:14px;width:14px;border-width:0px;">'
)


def _color(i: int) -> str:
    return "LemonChiffon" if i % 2 else "White"


def _appearance(pre: str, n: int, app: dict) -> str:
    # Name, juris number in parentheses, space-padded address lines [CAPTURE].
    info = (
        f"   {e(app['attorney'])}  ({app['juris_no']})<br>"
        f"{e(app['_street']).ljust(24)}<br>"
        f"{e(app['_city']).ljust(16)},&nbsp;CT&nbsp;{app['_zip']}    "
    )
    return fill(
        "case_appearance.html",
        {
            "CTL": f"{pre}_gvAttyInfo_ctl{n:02d}",
            "INFO": info,
            "FILE_DATE": fmt(app["file_date"]),
        },
    )


def _party_row(i: int, party: dict) -> str:
    pre = f"{PARTIES}_ctl{i + 2:02d}"
    non_appearing = ""
    if party["non_appearing"]:
        non_appearing = (
            f'\n{" " * 52}<span id="{pre}_lblNonAppearing" class="ParamText">'
            "<br>&nbsp;Non-Appearing</span>"
        )
    apps = "\n\t\t\t\t\t\t\t"
    if party["appearances"]:
        rows = "".join(
            _appearance(pre, n + 2, a) for n, a in enumerate(party["appearances"])
        )
        apps = (
            f'\n\t\t\t\t\t\t\t\t<table cellspacing="0" rules="all" border="1" '
            f'id="{pre}_gvAttyInfo" '
            'style="border-style:None;width:100%;border-collapse:collapse;">\n'
            f"\t\t\t\t\t\t\t\t\t<tbody>{rows}\n\t\t\t\t\t\t\t\t</tbody></table>\n"
            "\t\t\t\t\t\t\t"
        )
    category = party["category"]
    if category in ("Plaintiff", "Defendant"):
        category += " "  # the real page pads these two [CAPTURE]
    return fill(
        "case_party_row.html",
        {
            "COLOR": _color(i),
            "PRE": pre,
            "PARTY_NO": party["party_no"],
            "NAME": e(party["name"]),
            "NON_APPEARING": non_appearing,
            "APPEARANCES": apps,
            "CATEGORY": e(category),
        },
    )


def _document_row(i: int, entry: dict) -> str:
    pre = f"{DOCUMENTS}_ctl{i + 2:02d}"
    desc = e(entry["description"])
    if entry["document_no"]:
        doc = (
            f'<a id="{pre}_hlnkDocument" class="MainLink1" '
            f'href="../DocumentInquiry/DocumentInquiry.aspx?DocumentNo='
            f'{entry["document_no"]}" target="_blank" style="font-weight:bold;">'
            f"{desc}</a>\n{' ' * 44}" + DOCUMENT_IMG.format(pre=pre)
        )
    else:
        doc = (
            f'<span id="{pre}_lblDocumentText" style="font-weight:bold;">{desc}</span>'
        )

    def extra(value: str | None, prefix: str = "") -> str:
        return f"<br>&nbsp;&nbsp;{prefix}{e(value)}" if value else ""

    return fill(
        "case_document_row.html",
        {
            "COLOR": _color(i),
            "PRE": pre,
            "ENTRY_NO": entry["entry_no"] or "&nbsp;",
            "FILE_DATE": fmt(entry["file_date"]),
            "FILED_BY": entry["filed_by"] or "",
            "DOCUMENT": doc,
            "ADD_DESC": extra(entry["add_desc"]),
            "RESULT": extra(entry["result"], "<i>RESULT:</i> "),
            "NOTES": extra(entry["notes"]),
            "ARGUABLE": entry["arguable"] or "&nbsp;",
        },
    )


def _court_date_rows(dates: list[dict]) -> str:
    if not dates:
        return fill("case_no_court_dates.html", {"SCHEDULE": SCHEDULE})
    return "".join(
        fill(
            "case_court_date_row.html",
            {
                "COLOR": _color(i),
                "SCHEDULE": SCHEDULE,
                "NN": f"{i + 2:02d}",
                "NUM": str(i + 1),
                "DATE": fmt(d["court_date"]),
                "TIME": e(d["court_time"]),
                "DESCRIPTION": e(d["description"]),
                "STATUS": e(d["status"]),
            },
        )
        for i, d in enumerate(dates)
    )


def case_content(case: Case, detail: dict) -> str:
    """Return the case page's content area (header to disclaimer)."""
    disposed = bool(detail["disposition"])

    def disp(value) -> str:
        return f"&nbsp;{e(value)}" if disposed else ""

    return fill(
        "case_detail.html",
        {
            "PAPERLESS": PAPERLESS_IMG if case.paperless else "",
            "DOCKET_HEADER": dockets.header_form(case.docket_no),
            "DOCKET": case.docket_no,
            "CAPTION": e(detail["caption"]),
            "PREFIX": detail["prefix"],
            "CASE_TYPE_CODE": detail["case_type_code"],
            "FILE_DATE": fmt(detail["file_date"]),
            "RETURN_DATE": fmt(detail["return_date"]),
            "SUBSCRIBE_ID": detail["subscribe_id"],
            "UPDATED": fmt(detail["information_updated"]),
            "CASE_TYPE_TEXT": e(detail["case_type_text"]),
            "LOCATION": e(detail["court_location"]),
            "LIST_TYPE": e(detail["list_type"]),
            "TRIAL_LIST": "",
            "LAST_ACTION": fmt(detail["last_action_date"]),
            "DISP_DATE": disp(fmt(detail["disposition_date"])),
            "DISPOSITION": disp(detail["disposition"]),
            "DISP_JUDGE": disp(detail["disposition_judge"]),
            "PROP_ADDRESS_ROW": fill(
                "case_property_address_row.html",
                {"BASIC": BASIC, "ADDRESS": e(detail["property_address_raw"])},
            ),
            "PARTY_ROWS": "".join(
                _party_row(i, p) for i, p in enumerate(detail["parties"])
            ),
            "DOCUMENT_ROWS": "".join(
                _document_row(i, d) for i, d in enumerate(detail["docket_entries"])
            ),
            "SCHEDULE_AS_OF": fmt(detail["information_updated"]),
            "COURT_DATE_ROWS": _court_date_rows(detail["court_dates"]),
        },
    )
