"""Give every case the canonical name and county of its towns, and flag what is odd.

The search town is the town the spider searched ("Hartford"); the property town is
the town in the case page's address, or the grid's town column when the case page
was not read ("EAST HARTFORD", "E. HARTFORD"). Both go through ``ctforeclosure.towns``
so the database, the spider arguments and the web UI agree on spelling.

Nothing is guessed or moved: a property whose town differs from the search town is
flagged ``town_mismatch`` and stays under the search town (that is where the court
lists it); a town the reference list does not know is flagged and kept as printed.
``listing_town`` is never rewritten: it is part of the listing hash.

Being the last stage that flags a case, it also counts each case's data-quality
flags (``ctforeclosure.store.quality``) into the crawl stats as
``ctf/quality/<flag>``: the crawl run keeps its stats, and the quality report reads
each crawl's counts from them (the trend per crawl).
"""

from __future__ import annotations

from functools import lru_cache

from ctforeclosure.items import CaseItem, SaleItem, TownItem
from ctforeclosure.pipelines.validate import add_flag
from ctforeclosure.store import quality


@lru_cache(maxsize=4096)
def _match(name: str):
    """Return the reference town a spelling names, or None (cached: few spellings)."""
    from ctforeclosure import towns

    return towns.match(name)


def normalize_case(case: CaseItem) -> CaseItem:
    """Canonicalise the case's search and property towns in place; return it."""
    search = _match(case.search_town) if case.search_town else None
    if search is None:
        add_flag(case, "search_town_unknown")
    else:
        case.search_town = search.name
        case.county = search.county
    printed = case.property_town or case.listing_town
    if not printed or not printed.strip():
        add_flag(case, "property_town_missing")
        return case
    found = _match(printed.strip())
    if found is None:
        add_flag(case, "property_town_unmatched")
        return case
    if case.property_town:
        case.property_town = found.name
    if search is not None and found.name != search.name:
        add_flag(case, "town_mismatch")
    return case


def normalize_sale(sale: SaleItem) -> SaleItem:
    """Give the sale its list town's canonical name and county; flag an unknown one.

    The address's own town is canonicalised too, and flagged when it differs.
    """
    found = _match(sale.town) if sale.town else None
    if found is None:
        sale.flags.append("town_unknown")
    else:
        sale.town, sale.county = found.name, found.county
    printed = _match(sale.address_town) if sale.address_town else None
    if printed is not None:
        sale.address_town = printed.name
        if found is not None and printed.name != found.name:
            sale.flags.append("town_mismatch")
    return sale


def normalize_town(item: TownItem) -> TownItem:
    """Return the town item with the reference spelling of its name, when known."""
    found = _match(item.town) if item.town else None
    if found is not None:
        item.town = found.name
    return item


class NormalizeTownPipeline:
    """Canonical towns and counties for cases; mismatches and unknowns flagged."""

    def __init__(self, crawler=None):
        self.stats = crawler.stats if crawler is not None else None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if isinstance(item, CaseItem):
            before = set(item.flags)
            normalize_case(item)
            if self.stats is not None:
                for flag in set(item.flags) - before:
                    self.stats.inc_value(f"ctf/flagged/{flag}")
                for flag in quality.item_flags(item):
                    self.stats.inc_value(quality.QUALITY_STAT_PREFIX + flag)
        elif isinstance(item, TownItem):
            normalize_town(item)
        elif isinstance(item, SaleItem):
            normalize_sale(item)
        return item
