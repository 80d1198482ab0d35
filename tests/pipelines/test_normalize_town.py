"""NormalizeTownPipeline alone: canonical towns, flags instead of guesses."""

from __future__ import annotations

import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler

from ctforeclosure.items import TownItem
from ctforeclosure.pipelines.normalize_town import NormalizeTownPipeline
from tests.store.factory import make_case


@pytest.fixture
def pipeline():
    return NormalizeTownPipeline.from_crawler(get_crawler(Spider))


def test_normalize_town_canonical_search_town_and_county(pipeline):
    case = make_case(
        search_town="EAST HARTFORD",
        county=None,
        listing_town="E. HARTFORD",
        property_town="east hartford",
    )
    out = pipeline.process_item(case)
    assert (out.search_town, out.county) == ("East Hartford", "Hartford")
    assert out.property_town == "East Hartford"
    assert out.listing_town == "E. HARTFORD"  # printed value kept: listing hash
    assert out.flags == []


def test_normalize_town_other_property_town_is_flagged_not_moved(pipeline):
    case = make_case(listing_town="WETHERSFIELD", property_town="Wethersfield")
    out = pipeline.process_item(case)
    assert out.search_town == "Hartford"
    assert out.property_town == "Wethersfield"
    assert out.flags == ["town_mismatch"]
    assert pipeline.stats.get_value("ctf/flagged/town_mismatch") == 1


def test_normalize_town_unknown_property_town_is_flagged_and_kept(pipeline):
    case = make_case(property_town="Springfield", listing_town="SPRINGFIELD")
    out = pipeline.process_item(case)
    assert out.property_town == "Springfield"
    assert out.flags == ["property_town_unmatched"]


def test_normalize_town_listing_only_case_uses_the_grid_town(pipeline):
    out = pipeline.process_item(make_case(detail=False, listing_town="NEW BRITAIN"))
    assert out.flags == ["town_mismatch"]


def test_normalize_town_unknown_search_town_is_flagged(pipeline):
    out = pipeline.process_item(make_case(search_town="Gotham"))
    assert out.search_town == "Gotham"
    assert "search_town_unknown" in out.flags


def test_normalize_town_missing_property_town_is_flagged(pipeline):
    out = pipeline.process_item(make_case(property_town=None, listing_town=None))
    assert out.flags == ["property_town_missing"]


def test_normalize_town_town_item_gets_the_reference_spelling(pipeline):
    out = pipeline.process_item(TownItem(town="EAST HARTFORD", county="Hartford"))
    assert out.town == "East Hartford"
