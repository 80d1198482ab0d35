"""Offline spider contracts: ``@fixture`` feeds a callback a saved page.

Scrapy's ``@url`` contract fetches the live page, so ``scrapy check`` would need the
internet and would test whatever the site serves today. ``@fixture`` points the check
request at a page saved under ``tests/fixtures/`` instead (a ``file://`` URL), so
``scrapy check`` runs offline in CI and every callback is checked against the page
its parser tests use.

Usage, in a callback's docstring (no ``@url``)::

    def parse_towns(self, response):
        \"\"\"Yield one item per town.

        @fixture statelib/towns__table.html
        @returns items 169 169
        @scrapes town county
        @values source statelib
        \"\"\"

    def parse_case(self, response, town):
        \"\"\"@fixture judiciary/case_detail.html
        @cb_kwargs {"town": "Hartford"}
        @returns items 1 1
        @scrapes docket_no town
        \"\"\"

The path is relative to ``tests/fixtures/``. The check request also carries
``dont_obey_robotstxt`` (there is no robots.txt for a file) and ``ctf_fixture`` (the
fixture's name, so a spider can tell a contract run from a crawl). ``scrapy check``
itself runs with ``ITEM_PIPELINES`` and ``FEEDS`` emptied (Scrapy >= 2.13), so
nothing reaches the database; :class:`FixtureContract` refuses to run if they are not.

``@values FIELD VALUE`` asserts that every item the callback returns has that value
(``@values source statelib``: the towns page was parsed, not replaced by the bundled
fallback, which would still give 169 items).

Register in settings: ``SPIDER_CONTRACTS = {"ctforeclosure.contracts.FixtureContract":
10, "ctforeclosure.contracts.ValuesContract": 11}``.
"""

from __future__ import annotations

from pathlib import Path

from itemadapter import ItemAdapter, is_item
from scrapy.contracts import Contract
from scrapy.exceptions import ContractFail
from scrapy.utils.conf import closest_scrapy_cfg

__all__ = ["FixtureContract", "ValuesContract", "fixtures_dir"]

#: Where the fixtures live, relative to the project root (the folder of scrapy.cfg).
FIXTURES_SUBDIR = Path("tests") / "fixtures"


def fixtures_dir() -> Path:
    """Return the ``tests/fixtures`` folder of the project being checked."""
    candidates = []
    cfg = closest_scrapy_cfg()
    if cfg:
        candidates.append(Path(cfg).parent / FIXTURES_SUBDIR)
    candidates.append(Path.cwd() / FIXTURES_SUBDIR)
    # An editable install or a source checkout: the package sits in the project root.
    candidates.append(Path(__file__).resolve().parents[1] / FIXTURES_SUBDIR)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    raise FileNotFoundError(
        "tests/fixtures not found: run `scrapy check` from the project root "
        f"(looked in {', '.join(str(c) for c in candidates)})"
    )


class FixtureContract(Contract):
    """Load the callback's sample response from a saved page, never the network.

    @fixture statelib/towns__table.html
    """

    name = "fixture"

    def __init__(self, method, *args):
        super().__init__(method, *args)
        self.spider = getattr(method, "__self__", None)

    def adjust_request_args(self, args: dict) -> dict:
        if not self.args or not self.args[0]:
            raise ValueError("@fixture needs a path under tests/fixtures/")
        path = fixtures_dir() / self.args[0]
        if not path.is_file():
            raise FileNotFoundError(f"@fixture {self.args[0]}: no such file {path}")
        if self._pipelines_enabled():
            raise RuntimeError(
                "@fixture must not run with item pipelines enabled: a contract "
                "check must never write to the database"
            )
        args["url"] = path.as_uri()
        args["meta"] = {
            **(args.get("meta") or {}),
            "dont_obey_robotstxt": True,
            "ctf_fixture": self.args[0],
        }
        return args

    def _pipelines_enabled(self) -> bool:
        """Return True when the crawler running this check has item pipelines."""
        crawler = getattr(self.spider, "crawler", None)
        return bool(crawler and crawler.settings.getdict("ITEM_PIPELINES"))


class ValuesContract(Contract):
    """Check that every item has FIELD == VALUE: ``@values source statelib``."""

    name = "values"

    def post_process(self, output: list) -> None:
        if len(self.args) < 2:
            raise ContractFail("@values needs a field name and a value")
        field, expected = self.args[0], " ".join(self.args[1:])
        for item in output:
            if not is_item(item):
                continue
            value = ItemAdapter(item).get(field)
            if str(value) != expected:
                raise ContractFail(f"{field} is {value!r}, expected {expected!r}")
