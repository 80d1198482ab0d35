"""The container image, really built and started with the compose file (issue 20).

No image registry is reachable here, so the base is made with debootstrap
(``scripts/docker-base``, reused once imported), PostgreSQL's image is built from
Debian's package (``docker/postgres``), pip takes its wheels from a folder served on
127.0.0.1, and ``tests/docker/compose.test.yml`` puts every service on the host's
network on free ports. The test runs what an operator runs: ``up``, ``ctforeclosure
db upgrade``, a crawl of the replica scheduled on the containerised scrapyd, the web
UI's ``/readyz``, the rows in the database, ``down``.

Skipped, loudly, only where Docker cannot run; under ``CI`` it fails instead.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.scrapyd.cluster import free_port

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "local/debian:bookworm"
#: Wheels for the image's pip, kept between runs (a warm run downloads nothing).
CACHE = Path(os.environ.get("CTF_DOCKER_CACHE", "/var/tmp/ctforeclosure-docker"))
TIMEOUT = 600
#: The wheel server's usual port (any other when taken: a cold build then).
WHEELS_PORT = 47613


def _docker_usable() -> str | None:
    """Return why Docker cannot run here, or None."""
    for tool in ("docker", "docker-compose", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/test installs it as root)"
    info = subprocess.run(["docker", "info"], capture_output=True, check=False)
    if info.returncode:
        return "the Docker engine does not answer (scripts/test starts dockerd)"
    return None


@pytest.fixture(scope="module")
def docker():
    reason = _docker_usable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"Docker must run in CI: {reason}")
        pytest.skip(f"DOCKER TEST SKIPPED: {reason}")
    subprocess.run([str(REPO / "scripts" / "docker-base"), BASE_IMAGE], check=True)


def _run(args: list[str], env: dict, timeout: float = TIMEOUT, check=True) -> str:
    done = subprocess.run(
        args,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode:
        pytest.fail(
            f"{' '.join(args[:6])} failed:\n{done.stdout[-3000:]}"
            f"\n{done.stderr[-3000:]}"
        )
    return done.stdout


def _wheel_folder() -> Path:
    """Download the wheels the image needs, once per version of pyproject.toml."""
    folder = CACHE / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    marker = folder / f".pyproject-{digest[:16]}"
    if not marker.exists():
        pip = [sys.executable, "-m", "pip", "download", "-q", "-d", str(folder)]
        subprocess.run([*pip, str(REPO), "setuptools>=77,<81", "wheel"], check=True)
        marker.touch()
    return folder


def _wheel_server(folder: Path) -> http.server.ThreadingHTTPServer:
    """Serve the folder on 127.0.0.1, on the same port as last time if it is free:
    the port is a build argument, and the same value keeps Docker's build cache."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(folder)
    )
    handler.log_message = lambda *a: None
    for port in (WHEELS_PORT, 0):
        try:
            return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
    raise RuntimeError("no port for the wheel server")


@pytest.fixture(scope="module")
def wheels(docker):
    """Serve the project's wheels on 127.0.0.1 for the image's pip."""
    server = _wheel_server(_wheel_folder())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture
def stack(wheels, replica_factory):
    """Start the compose file's services; yield (env, ports); take them down."""
    site = replica_factory(cases=20, towns=("Bethel",), seed=7)
    ports = {"pg": free_port(), "scrapyd": free_port(), "web": free_port()}
    env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": f"ctftest{uuid.uuid4().hex[:8]}",
        "BASE_IMAGE": BASE_IMAGE,
        "POSTGRES_IMAGE": "ctf-test/postgres:15",
        "CTF_IMAGE": "ctf-test/ctforeclosure:latest",
        "TEST_PIP_FIND_LINKS": wheels,
        "TEST_PG_PORT": str(ports["pg"]),
        "TEST_SCRAPYD_PORT": str(ports["scrapyd"]),
        "WEB_PORT": str(ports["web"]),
        "WEB_HOST": "127.0.0.1",
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "SCRAPYD_USERNAME": "operator",
        "SCRAPYD_PASSWORD": secrets.token_urlsafe(24),
        "CTF_SECRET_KEY": secrets.token_urlsafe(32),
        "CONTACT": "ci@example.org",
        **site.env,
    }
    compose = [
        "docker-compose",
        "-f",
        "docker-compose.yml",
        "-f",
        "tests/docker/compose.test.yml",
    ]
    try:
        _run([*compose, "up", "-d", "--build"], env)
        yield compose, env, ports, len(site.truth())
    finally:
        _run([*compose, "down", "-v"], env, timeout=120, check=False)


def _wait(what: str, probe, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}")


def _ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_compose_stack_builds_starts_crawls_and_stops(stack):
    compose, env, ports, truth = stack
    readyz = f"http://127.0.0.1:{ports['web']}/readyz"
    _wait("the web UI's /readyz", lambda: _ready(readyz), 120)
    assert requests.get(readyz, timeout=5).json()["status"] == "ready"
    upgraded = _run(
        [*compose, "exec", "-T", "web", "ctforeclosure", "db", "upgrade"], env
    )
    assert "already at schema revision" in upgraded
    user = _run([*compose, "exec", "-T", "scrapyd", "id", "-u"], env).strip()
    assert user == "10001"
    node = f"http://127.0.0.1:{ports['scrapyd']}"
    _wait("scrapyd", lambda: _ready(node) or True, 5)
    scheduled = _run(
        [
            str(Path(sys.executable).parent / "ctforeclosure"),
            "schedule",
            "--town",
            "Bethel",
            "--nodes",
            node,
            "--arg",
            "details=all",
            "--arg",
            "status=all",
            "--arg",
            "property=all",
            "--set",
            "DOWNLOAD_DELAY=0",
            "--set",
            "NOBOT_MIN_DELAY=0",
            "--set",
            "AUTOTHROTTLE_ENABLED=False",
        ],
        env,
    )
    assert node in scheduled
    url = (
        f"postgresql+psycopg://ctforeclosure:{env['POSTGRES_PASSWORD']}"
        f"@127.0.0.1:{ports['pg']}/ctforeclosure"
    )
    engine = sa.create_engine(url)
    try:

        def finished() -> bool:
            with engine.connect() as conn:
                return bool(
                    conn.execute(
                        sa.text(
                            "SELECT count(*) FROM crawl_runs"
                            " WHERE finished_at IS NOT NULL"
                        )
                    ).scalar()
                )

        _wait("the crawl job", finished, 240)
        with engine.connect() as conn:
            status = conn.execute(sa.text("SELECT status FROM crawl_runs")).scalar()
            cases = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar()
    finally:
        engine.dispose()
    assert status == "finished"
    assert cases == truth
    web_log = _run([*compose, "logs", "--no-color", "web"], env)
    assert '"route": "/readyz"' in web_log  # CTF_LOG_FORMAT=json in the override
