"""Errors by category from a crawl's Scrapy stats, and the examples the crawl page
shows for them: one rule for both (ctforeclosure.extensions.crawl_stats)."""

from __future__ import annotations

from ctforeclosure.extensions.crawl_stats import error_example, errors_by_category
from webui.crawl_report import error_examples

# What Scrapy and our spiders record for one failed download, one callback that
# raised twice, one dropped item and one case page given up on.
STATS = {
    "downloader/exception_count": 1,
    "downloader/exception_type_count/twisted.internet.error.DNSLookupError": 1,
    "spider_exceptions/count": 2,
    "spider_exceptions/KeyError": 2,
    "ctf/dropped/missing_docket": 1,
    "ctf/errors/validation": 1,
    "ctf/errors/case_page": 1,
    "item_scraped_count": 40,
}


def test_each_error_counts_once_in_its_category():
    # Scrapy counts a callback's exception twice (the total and its class)
    assert errors_by_category(STATS) == {
        "network": 1,
        "parsing": 3,  # two exceptions, one case page given up
        "validation": 1,
        "system": 0,
    }


def test_the_example_of_each_category_names_what_its_errors_were():
    errors = errors_by_category(STATS)
    examples = {e.category: e.example for e in error_examples(errors, STATS)}
    assert examples == {
        "network": "twisted.internet.error.DNSLookupError",
        "parsing": "ctf/errors/case_page",  # the first by name, before KeyError
        "validation": "ctf/errors/validation",  # not the dropped item's key
    }
    assert error_example("spider_exceptions/KeyError") == ("parsing", "KeyError")
    assert error_example("spider_exceptions/count") is None  # a total
    assert error_example("item_scraped_count") is None
