"""Lead signals and priority: each signal from the court's wording (the [CODE]
examples of docs/SITES.md §3.5, which the replica serves) with its source, and a
priority computed against today, so a frozen clock moves a case from warm to hot
without a crawl."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from freezegun import freeze_time

from ctforeclosure.services import lead_signals
from tests.replica.data import STRICT_RESULT


def entry(description: str, result: str = "", entry_no: str = "104.00"):
    return SimpleNamespace(
        entry_no=entry_no,
        file_date=date(2026, 1, 5),
        description=description,
        add_desc=None,
        result=result,
        removed_at=None,
    )


def party(non_appearing: bool = False):
    return SimpleNamespace(role="D", removed_at=None, non_appearing=non_appearing)


def case(**dates):
    return SimpleNamespace(
        law_day=dates.get("law_day"),
        sale_date=dates.get("sale_date"),
        is_active=True,
        judgment_type=dates.get("judgment_type"),
    )


@pytest.mark.parametrize(
    ("wording", "code"),
    [
        ("MOTION FOR JUDGMENT-STRICT FORECLOSURE", "motion_judgment_strict"),
        ("MOTION FOR JUDGMENT OF FORECLOSURE BY SALE", "motion_judgment_sale"),
        ("MOTION TO OPEN JUDGMENT AND EXTEND THE SALE DATE", "motion_to_open"),
        ("AFFIDAVIT THAT PARTY IS IN BANKRUPTCY", "bankruptcy"),
        (
            "MOTION TO RESET LAW DAYS AFTER FILING OF A BANKRUPTCY PETITION"
            " (CGS 49-15)",
            "law_days_reset",
        ),
        ("FORECLOSURE MEDIATION TIME PERIOD EXPIRED", "mediation_expired"),
        (
            "FORECLOSURE MEDIATOR'S FINAL REPORT - MEDIATION PERIOD TERMINATED",
            "mediation_terminated",
        ),
        ("FORECLOSURE MEDIATION - INELIGIBLE CASE", "mediation_ineligible"),
        ("FORECLOSURE MEDIATION CERTIFICATE", "in_mediation"),
        ("MOTION FOR DEFAULT-FAILURE TO APPEAR", "default_no_appearance"),
        ("AFFIDAVIT OF COMPLIANCE WITH EMAP", "emap"),
        ("WITHDRAWAL OF ACTION", "withdrawal"),
        ("SUMMONS", None),
        ("MOTION FOR DEFAULT-FAILURE TO PLEAD", None),
    ],
)
def test_each_docket_wording_gives_its_signal_citing_the_entry(wording, code):
    found = lead_signals.entry_signals([entry(wording)])
    assert [s.code for s in found] == ([code] if code else [])
    assert all(s.source == "docket entry #104.00, 2026-01-05" for s in found)


def test_a_granted_motion_for_judgment_is_its_own_signal():
    result = STRICT_RESULT.format(ruled="01/20/2026", judge="HON X", day="03/01/2026")
    found = lead_signals.entry_signals(
        [entry("MOTION FOR JUDGMENT-STRICT FORECLOSURE", result)]
    )
    assert [s.code for s in found] == [
        "motion_judgment_strict",
        "motion_judgment_granted",
    ]


def test_priority_moves_from_warm_to_hot_as_the_law_day_nears_without_a_crawl():
    stored = case(law_day=date(2026, 3, 1))
    with freeze_time("2026-01-15"):
        reading = lead_signals.read(stored, [], [party()], date.today())
    assert reading.priority == "warm" and reading.rule == lead_signals.RULES[3]
    with freeze_time("2026-02-10"):
        reading = lead_signals.read(stored, [], [party()], date.today())
    assert reading.priority == "hot" and reading.rule == lead_signals.RULES[1]
    assert "law day in 19 days (2026-03-01)" in [s.text for s in reading.signals]


def test_a_near_law_day_without_an_appearance_is_only_warm():
    today = date(2026, 2, 10)
    stored = case(law_day=today + timedelta(days=5))
    reading = lead_signals.read(stored, [], [party(non_appearing=True)], today)
    assert reading.priority == "warm"
    assert "non_appearing" in {s.code for s in reading.signals}


def test_a_disposed_case_is_cold_and_a_past_sale_is_no_signal():
    today = date(2026, 2, 10)
    stored = case(sale_date=today - timedelta(days=1))
    reading = lead_signals.read(stored, [], [party()], today)
    assert reading.priority == "cold" and reading.signals == []
    stored.judgment_type = "sale"  # judgment entered, no sale date set yet
    assert lead_signals.read(stored, [], [party()], today).priority == "hot"
    stored.is_active, stored.sale_date = False, today + timedelta(days=3)
    assert lead_signals.read(stored, [], [party()], today).priority == "cold"


def test_a_scheduled_mediation_session_means_in_mediation():
    today = date(2026, 2, 10)
    session = SimpleNamespace(court_date=today, description="Foreclosure mediation")
    reading = lead_signals.read(case(), [], [party()], today, [session])
    assert [(s.code, s.source) for s in reading.signals] == [
        ("in_mediation", "court date 2026-02-10")
    ]
    ended = [entry("FORECLOSURE MEDIATION TIME PERIOD EXPIRED")]
    codes = {
        s.code for s in lead_signals.read(case(), ended, [], today, [session]).signals
    }
    assert codes == {"mediation_expired"}
