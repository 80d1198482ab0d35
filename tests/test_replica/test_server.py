"""The replica as a whole: environment, command line, BatchData mount, full size."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.replica.data import Dataset
from tests.replica.options import BATCHDATA_API_KEY

ROOT = Path(__file__).resolve().parents[2]


def test_env_points_every_service_at_the_replica(replica):
    env = replica.env
    assert set(env) == {
        "CTJUD_BASE_URL",
        "CTJUD_SALES_BASE_URL",
        "STATE_LIBRARY_TOWNS_URL",
        "BATCHDATA_BASE_URL",
        "BATCHDATA_API_KEY",
    }
    assert env["CTJUD_BASE_URL"] == replica.root + "/civilinquiry"
    assert env["BATCHDATA_BASE_URL"] == replica.root + "/batchdata/api/v1"
    assert replica.root.startswith("http://127.0.0.1:")


def test_batchdata_is_mounted_with_the_env_key(replica):
    from tests.replica import batchdata

    assert batchdata.TEST_API_KEY == BATCHDATA_API_KEY
    body = {
        "requests": [
            {
                "propertyAddress": {
                    "street": "12 Elm St",
                    "city": "Hartford",
                    "state": "CT",
                    "zip": "06106",
                }
            }
        ]
    }
    url = replica.env["BATCHDATA_BASE_URL"] + "/property/skip-trace"
    ok = requests.post(
        url,
        json=body,
        headers={"Authorization": f"Bearer {replica.env['BATCHDATA_API_KEY']}"},
        timeout=10,
    )
    assert ok.status_code == 200
    assert ok.json()["status"]["code"] == 200
    bad = requests.post(
        url, json=body, headers={"Authorization": "Bearer x"}, timeout=10
    )
    assert bad.status_code == 401


def test_command_line_prints_env_and_serves():
    with socket.socket() as probe:  # a free port for the child to bind
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.replica", "--port", str(port), "--cases", "200",
         "--fast", "--print-env"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        lines = [proc.stdout.readline().strip() for _ in range(5)]
        env = dict(line.split("=", 1) for line in lines)
        assert env["CTJUD_BASE_URL"] == f"http://127.0.0.1:{port}/civilinquiry"
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = requests.get(f"http://127.0.0.1:{port}/robots.txt", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.1)
        assert resp.status_code == 200
        page = requests.get(
            env["CTJUD_BASE_URL"] + "/PropertyAddressSearch.aspx", timeout=5
        )
        assert "ctl00_ContentPlaceHolder1_txtCityTown" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "NoBot timing rules are OFF" in proc.stderr.read()


def test_print_env_only_exits():
    out = subprocess.run(
        [sys.executable, "-m", "tests.replica", "--port", "8800", "--print-env-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.splitlines()[0] == "CTJUD_BASE_URL=http://127.0.0.1:8800/civilinquiry"
    assert f"BATCHDATA_API_KEY={BATCHDATA_API_KEY}" in out


@pytest.mark.slow
def test_full_size_dataset_of_50000_cases():
    data = Dataset(seed=0, cases=50_000)
    assert len(data.cases) == 50_000
    assert len({c.docket_no for c in data.cases.values()}) == 50_000
    towns = {c.town.name for c in data.cases.values()}
    assert len(towns) == 169
    rows = data.search("Hartford")
    assert len(rows) > 2000
    assert [c.sort_key for c in rows] == sorted(c.sort_key for c in rows)
    sample = rows[::500]
    for case in sample:
        detail = data.detail(case)
        assert detail["parties"][0]["party_no"] == "P-01"
