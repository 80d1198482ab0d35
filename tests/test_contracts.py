"""Offline contracts: `scrapy check` reads saved pages and never the network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from scrapy.exceptions import ContractFail

from ctforeclosure.contracts import FixtureContract, ValuesContract, fixtures_dir
from ctforeclosure.items import TownItem
from ctforeclosure.spiders.towns import TownsSpider

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCRAPY = Path(sys.executable).parent / "scrapy"


def _closed_port_url() -> str:
    """Return a loopback URL nothing listens on: fetching it fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/cttowns"


def _check(*args: str, **env_vars: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        **env_vars,
        # If anything fetched the configured page, the check would fail.
        "STATE_LIBRARY_TOWNS_URL": _closed_port_url(),
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    return subprocess.run(
        [str(SCRAPY), "check", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scrapy_check_runs_the_towns_contracts_offline():
    result = _check("-v")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "[towns] parse_towns (@returns post-hook) ... ok" in output
    assert "[towns] parse_towns (@scrapes post-hook) ... ok" in output
    assert "[towns] parse_towns (@values post-hook) ... ok" in output
    assert "Ran 0 contracts" not in output
    assert output.rstrip().endswith("OK")


def test_scrapy_check_refuses_to_run_with_item_pipelines(sqlite_url):
    from ctforeclosure import migrate

    migrate.upgrade(sqlite_url)  # so the pipeline itself would open and store
    result = _check(
        "towns",
        "-s",
        'ITEM_PIPELINES={"ctforeclosure.pipelines.upsert.UpsertPipeline": 300}',
        DATABASE_URL=sqlite_url,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "must not run with item pipelines enabled" in output
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from towns")).scalar() == 0
    engine.dispose()


def test_fixtures_dir_is_found_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no scrapy.cfg here: the package's project root
    assert fixtures_dir() == PROJECT_ROOT / "tests" / "fixtures"


def _contract(cls, *args):
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(
        TownsSpider, {"STATE_LIBRARY_TOWNS_URL": "http://127.0.0.1:9/"}
    )
    spider = TownsSpider.from_crawler(crawler)
    return cls(spider.parse_towns, *args)


def test_fixture_contract_points_the_request_at_the_saved_page():
    args = _contract(FixtureContract, "statelib/towns__table.html").adjust_request_args(
        {"meta": {"keep": 1}}
    )
    path = PROJECT_ROOT / "tests" / "fixtures" / "statelib" / "towns__table.html"
    assert args["url"] == path.as_uri()
    assert args["meta"] == {
        "keep": 1,
        "dont_obey_robotstxt": True,
        "ctf_fixture": "statelib/towns__table.html",
    }


def test_fixture_contract_refuses_a_missing_fixture():
    with pytest.raises(FileNotFoundError, match=r"statelib/nope\.html"):
        _contract(FixtureContract, "statelib/nope.html").adjust_request_args({})


def test_values_contract_fails_on_another_value():
    contract = _contract(ValuesContract, "source", "statelib")
    good = TownItem(town="Avon", county="Hartford", source="statelib")
    bad = TownItem(town="Avon", county="Hartford", source="bundled")
    contract.post_process([good, good])
    with pytest.raises(ContractFail, match="source is 'bundled'"):
        contract.post_process([good, bad])
