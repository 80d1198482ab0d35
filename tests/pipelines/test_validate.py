"""ValidatePipeline alone on crafted items: every drop reason, and dirty data kept."""

from __future__ import annotations

import json
import logging
import stat

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from ctforeclosure import config
from ctforeclosure.items import CourtDateItem, PartyItem, TownItem
from ctforeclosure.logformatter import SafeLogFormatter
from ctforeclosure.pipelines.validate import ValidatePipeline
from tests.store.factory import make_case


@pytest.fixture
def pipeline():
    crawler = get_crawler(Spider)
    pipe = ValidatePipeline.from_crawler(crawler)
    yield pipe
    pipe.close_spider()


def _broken(**changes):
    case = make_case()
    for name, value in changes.items():
        setattr(case, name, value)
    return case


def _party(**changes):
    case = make_case()
    for name, value in changes.items():
        setattr(case.parties[1], name, value)
    return case


def _entry(**changes):
    case = make_case()
    for name, value in changes.items():
        setattr(case.docket_entries[0], name, value)
    return case


DROPS = [
    ("docket_missing", lambda: _broken(docket_no="")),
    ("docket_invalid", lambda: _broken(docket_no="HHD-CV-24-61")),
    ("search_town_missing", lambda: _broken(search_town=" ")),
    ("broken_structure", lambda: _broken(parties=[{"party_no": "D-01"}])),
    ("broken_structure", lambda: _broken(flags="zip")),
    ("broken_structure", lambda: _party(appearances=None)),
    ("invalid_date", lambda: _broken(file_date="03/01/2024")),
    # Parsers give dates; the spool's replay rebuilds its own and skips the pipeline.
    ("invalid_date", lambda: _broken(file_date="2024-03-01")),
    ("invalid_date", lambda: _entry(file_date="yesterday")),
    ("party_no_invalid", lambda: _party(party_no="Defendant")),
    ("party_no_duplicate", lambda: _party(party_no="P-01")),
    ("party_name_missing", lambda: _party(name="")),
    ("party_role_missing", lambda: _party(role=None)),
    ("entry_description_missing", lambda: _entry(description="")),
    (
        "court_date_description_missing",
        lambda: _broken(court_dates=[CourtDateItem(court_date=None, description="")]),
    ),
    ("town_missing", lambda: TownItem(town="", county="Hartford")),
    ("county_missing", lambda: TownItem(town="Hartford", county="")),
    ("unknown_item_type", lambda: {"docket_no": "HHDCV246000001S"}),
]


@pytest.mark.parametrize(("reason", "build"), DROPS, ids=[d[0] for d in DROPS])
def test_validate_drops_what_cannot_be_stored(pipeline, reason, build):
    item = build()
    with pytest.raises(DropItem) as raised:
        pipeline.process_item(item)
    assert reason in str(raised.value)
    stats = pipeline.stats.get_stats()
    assert stats[f"ctf/dropped/{reason}"] == 1
    assert stats["ctf/errors/validation"] == 1
    pipeline.close_spider()
    rejects = list(config.load().rejects_dir.glob("*.jsonl"))
    assert len(rejects) == 1
    assert stat.S_IMODE(rejects[0].stat().st_mode) == 0o600
    record = json.loads(rejects[0].read_text().splitlines()[0])
    assert record["reason"] == reason


def test_validate_drop_message_names_the_docket(pipeline):
    with pytest.raises(DropItem, match=r"^HHDCV246000001S dropped: party_no_invalid"):
        pipeline.process_item(_party(party_no="JANE DOE"))


def test_validate_keeps_and_flags_dirty_but_real_data(pipeline):
    case = make_case(
        docket_no="HHD-CV-24-6000001-S",
        listing_zip="00000",
        listing_street="See Clerk's Note\n",
        property_zip="06",
    )
    case.court_dates[0].court_time = "9:00AM (REMOTE VIA TEAMS)"
    out = pipeline.process_item(case)
    assert out.docket_no == "HHDCV246000001S"
    assert set(out.flags) >= {
        "listing_zip_placeholder",
        "property_zip_malformed",
        "address_see_clerk",
        "truncated_court_date_court_time",
    }
    assert out.court_dates[0].court_time == "9:00AM (REMOTE V"  # 16 wide
    assert pipeline.stats.get_value("ctf/errors/validation") is None


def test_validate_out_of_state_zip_is_flagged(pipeline):
    out = pipeline.process_item(make_case(listing_zip="01128"))
    assert "listing_zip_out_of_state" in out.flags


def test_validate_listing_only_case_without_children_passes(pipeline):
    case = make_case(detail=False)
    assert pipeline.process_item(case) is case
    assert case.flags == []


def test_validate_party_numbers_of_big_cases_are_accepted(pipeline):
    case = make_case()
    case.parties.append(PartyItem(party_no="D-100", role="D", name="ACME LLC"))
    assert pipeline.process_item(case) is case


def test_log_formatter_never_prints_the_item():
    case = make_case()
    crawler = get_crawler(Spider)
    spider = Spider.from_crawler(crawler, name="t")
    formatter = SafeLogFormatter()
    for entry in (
        formatter.dropped(case, DropItem("HHDCV246000001S dropped: x"), None, spider),
        formatter.scraped(case, None, spider),
        formatter.item_error(case, ValueError("boom"), None, spider),
    ):
        text = entry["msg"] % entry["args"]
        assert "HHDCV246000001S" in text
        assert "DOE" not in text and "Example Ave" not in text
    assert formatter.dropped(case, DropItem("x"), None, spider)["level"] == (
        logging.WARNING
    )
