"""The derivation rule: judgment type, latest law day and sale date, is_active."""

from __future__ import annotations

from datetime import date

from ctforeclosure.items import DocketEntryItem
from ctforeclosure.parsers import derive as d
from ctforeclosure.parsers.judiciary import parse_case
from tests.conftest import fixture_path


def entry(description, day, result=None, **kw) -> DocketEntryItem:
    return DocketEntryItem(
        description=description, file_date=date(2025, 1, day), result=result, **kw
    )


def test_derive_granted_strict_motion_gives_strict_and_law_day():
    out = d.derive(
        [
            entry("FORECLOSURE WORKSHEET", 1),
            entry(
                d.STRICT_MOTION,
                2,
                "Granted 2/10/2025 HON J ROE Law Day(s) assigned to begin 04/01/2025",
            ),
        ]
    )
    assert (out.judgment_type, out.law_day, out.sale_date) == (
        "strict",
        date(2025, 4, 1),
        None,
    )
    assert out.is_active is True


def test_derive_granted_sale_motion_gives_sale_and_sale_date():
    out = d.derive(
        [
            entry(
                "MOTION FOR JUDGMENT OF FORECLOSURE BY SALE",
                3,
                "Granted 3/1/2025 HON JANE ROE Sale Date set for 06/14/2025",
            )
        ]
    )
    assert (out.judgment_type, out.sale_date) == ("sale", date(2025, 6, 14))


def test_derive_denied_or_pending_motion_is_no_judgment():
    out = d.derive(
        [
            entry(d.STRICT_MOTION, 2, "Denied 2/10/2025 HON JANE ROE"),
            entry("MOTION FOR JUDGMENT OF FORECLOSURE BY SALE", 3),
        ]
    )
    assert out.judgment_type is None
    assert out.law_day is None and out.sale_date is None


def test_derive_latest_dates_win_after_reset_and_extension():
    out = d.derive(
        [
            entry(
                d.STRICT_MOTION,
                2,
                "Granted 2/10/2025 X Law Day(s) assigned to begin 04/01/2025",
            ),
            entry(
                "MOTION TO RESET LAW DAYS AFTER FILING OF A BANKRUPTCY PETITION "
                "(CGS 49-15)",
                20,
                "Granted 5/1/2025 X Law Day(s) reset to begin 07/15/2025",
            ),
            entry(
                "MOTION TO OPEN JUDGMENT AND EXTEND THE SALE DATE",
                21,
                "Granted 5/2/2025 X Sale Date reset for 09/20/2025",
            ),
        ]
    )
    assert out.judgment_type == "strict"
    assert out.law_day == date(2025, 7, 15)
    assert out.sale_date == date(2025, 9, 20)


def test_derive_later_sale_judgment_replaces_strict():
    out = d.derive(
        [
            entry(d.SALE_MOTION, 9, "Granted 1/9/2025 X"),
            entry(d.STRICT_MOTION, 2, "Granted 1/2/2025 X"),
        ]
    )
    assert out.judgment_type == "sale"  # docket order by date, not list order


def test_derive_disposition_names_judgment_and_ends_activity():
    out = d.derive([], disposition="JUDGMENT OF STRICT FORECLOSURE")
    assert (out.judgment_type, out.is_active) == ("strict", False)
    out = d.derive([], disposition="WITHDRAWN")
    assert (out.judgment_type, out.is_active) == (None, False)


def test_derive_on_the_real_case_page_wordings():
    # The real capture is not a foreclosure: its granted motions (MOTION FOR SUMMARY
    # JUDGMENT, ...) are no foreclosure judgment, and its disposition closes it.
    case = parse_case(
        fixture_path("judiciary/case_detail__hhdcv226160660s.html").read_text()
    )
    granted = [
        e for e in case["docket_entries"] if d.GRANTED_RESULT_RE.match(e.result or "")
    ]
    assert granted  # "Granted 9/26/2023 HON ..." is a real wording
    out = d.derive(case["docket_entries"], case["disposition"])
    assert out == d.Derived(
        judgment_type=None, law_day=None, sale_date=None, is_active=False
    )
