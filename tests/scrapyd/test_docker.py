"""The container image, compose file and service units, checked without Docker.

The real build and start are in tests/docker/test_container.py; here, fast: hadolint
lints the Dockerfile, the
compose file is validated against the Compose specification's JSON schema, and the
image's build and start steps run here as the same commands (the files the Dockerfile
copies, the egg build, scrapyd with the image's configuration and baked-in egg, the
health checks, the web UI command).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner

from .cluster import BIN, PASSWORD, REPO, USERNAME, free_port

SCHEMA = Path(__file__).parent / "compose-spec" / "compose_spec.json"
SCHEMA_SHA256 = "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "docker-compose.yml"
DEPLOY = REPO / "deploy"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            pairs.append((instruction.upper(), rest.strip()))
    return pairs


def test_dockerfile_passes_hadolint():
    result = subprocess.run(
        [str(BIN / "hadolint"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_slim_and_not_root():
    instructions = _dockerfile_instructions()
    froms = [args for name, args in instructions if name == "FROM"]
    assert len(froms) == 2
    assert "ARG BASE_IMAGE=debian:bookworm-slim" in DOCKERFILE.read_text()
    [user] = [args for name, args in instructions if name == "USER"]
    assert not user.startswith(("root", "0"))
    assert any("chromium" in args for name, args in instructions if name == "RUN")


def test_docker_compose_matches_the_compose_specification():
    import jsonschema

    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = [e.message for e in validator.iter_errors(_compose())]
    assert errors == []
    # The schema catches a misspelt key (it would be silently ignored otherwise).
    broken = _compose()
    broken["services"]["web"]["healthcheck"]["intervall"] = "30s"
    assert list(validator.iter_errors(broken))


def test_docker_compose_services_health_volumes_and_loopback_ports():
    services = _compose()["services"]
    assert {"db", "scrapyd", "web"} <= set(services)
    for name in ("db", "scrapyd", "web"):
        assert services[name]["healthcheck"]["test"], name
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert "scrapyd-data:/var/lib/scrapyd" in services["scrapyd"]["volumes"]
    published = yaml.safe_load((REPO / "docker-compose.override.yml").read_text())
    for name in ("scrapyd", "web"):
        assert "ports" not in services[name], name  # published by the override
        ports = published["services"][name]["ports"]
        assert ports and all(p.startswith("127.0.0.1:") for p in ports)


def test_docker_compose_holds_no_secret_values():
    text = COMPOSE.read_text()
    for key in ("POSTGRES_PASSWORD", "SCRAPYD_PASSWORD", "CTF_SECRET_KEY"):
        for value in re.findall(rf"{key}: (\S+)", text):
            assert value.startswith("${"), (key, value)


def _copied_sources(target: Path) -> None:
    """Copy what the Dockerfile's build stage COPYs from the context into ``target``."""
    for name, args in _dockerfile_instructions():
        if name != "COPY" or args.startswith("--from"):
            continue
        *sources, destination = args.split()
        if not destination.startswith("./"):
            continue  # runtime-stage configuration files, checked below
        for source in sources:
            path = REPO / source
            dest = target / (source if destination == "./" else destination)
            if path.is_dir():
                shutil.copytree(
                    path, dest, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(path, target / path.name)


@pytest.fixture(scope="module")
def image_egg(tmp_path_factory):
    """Run the build stage's commands on the files it copies; return the egg."""
    src = tmp_path_factory.mktemp("src")
    _copied_sources(src)
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    assert list(wheels.glob("ctforeclosure-*.whl"))
    egg = src / "ctforeclosure.egg"
    subprocess.run(
        [str(BIN / "scrapyd-deploy"), "--build-egg", str(egg)],
        cwd=src,
        check=True,
        capture_output=True,
    )
    return egg


def test_image_egg_holds_package_data_and_nothing_secret(image_egg):
    names = zipfile.ZipFile(image_egg).namelist()
    assert "ctforeclosure/data/ct_towns.csv" in names
    assert any(n.startswith("ctforeclosure/migrations/versions/0001") for n in names)
    assert "ctforeclosure/middlewares/site_budget.py" in names
    assert "ctforeclosure/spiders/cases.py" in names
    assert not [n for n in names if n.startswith("tests/") or n.endswith(".env")]
    entry_points = zipfile.ZipFile(image_egg).read("EGG-INFO/entry_points.txt")
    assert b"settings = ctforeclosure.settings" in entry_points


def _healthcheck_command() -> list[str]:
    [args] = [a for name, a in _dockerfile_instructions() if name == "HEALTHCHECK"]
    return json.loads(args.split("CMD", 1)[1].strip())


def _start(cmd, cwd, env, url):
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return proc
        except requests.ConnectionError:
            assert proc.poll() is None, f"{cmd[0]} exited"
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"{cmd} did not start")


def test_image_start_command_serves_the_baked_in_egg(image_egg, tmp_path):
    # The runtime stage: egg at <eggs_dir>/ctforeclosure/<EGG_VERSION>.egg, the two
    # configuration files, scrapyd started from the data folder with CMD.
    eggs = tmp_path / "opt-eggs"
    (eggs / "ctforeclosure").mkdir(parents=True)
    shutil.copy2(image_egg, eggs / "ctforeclosure" / "1.egg")
    workdir = tmp_path / "var-lib-scrapyd"
    workdir.mkdir()
    shutil.copy2(DEPLOY / "scrapyd.conf", workdir / "scrapyd.conf")
    image_conf = (DEPLOY / "scrapyd-image.conf").read_text()
    (tmp_path / ".scrapyd.conf").write_text(
        image_conf.replace("/opt/ctforeclosure/eggs", str(eggs))
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPYD_")}
    env.update(
        HOME=str(tmp_path),  # ~/.scrapyd.conf stands in for /etc/scrapyd/conf.d
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        SCRAPYD_BIND_ADDRESS="127.0.0.1",  # tests bind loopback; the image 0.0.0.0
        SCRAPYD_HTTP_PORT=str(port),
        SCRAPYD_USERNAME=USERNAME,
        SCRAPYD_PASSWORD=PASSWORD,
    )
    [cmd] = [json.loads(a) for name, a in _dockerfile_instructions() if name == "CMD"]
    url = f"http://127.0.0.1:{port}"
    proc = _start([str(BIN / cmd[0]), *cmd[1:]], workdir, env, url)
    try:
        auth = (USERNAME, PASSWORD)
        assert requests.get(f"{url}/listjobs.json", timeout=10).status_code == 401
        versions = requests.get(
            f"{url}/listversions.json",
            params={"project": "ctforeclosure"},
            auth=auth,
            timeout=10,
        ).json()
        assert versions["versions"] == ["1"]
        spiders = requests.get(
            f"{url}/listspiders.json",
            params={"project": "ctforeclosure"},
            auth=auth,
            timeout=60,
        ).json()
        assert {"cases", "towns"} <= set(spiders["spiders"])
        # The image gets its egg at build time: no uploads over HTTP.
        upload = requests.post(f"{url}/addversion.json", auth=auth, timeout=10)
        assert upload.status_code == 404
        # HEALTHCHECK, pointed at this port.
        check = [
            part.replace("127.0.0.1:6800", f"127.0.0.1:{port}")
            for part in _healthcheck_command()
        ]
        check[0] = sys.executable
        assert subprocess.run(check, env=env, check=False).returncode == 0
        bad_env = dict(env, SCRAPYD_PASSWORD="wrong")
        assert subprocess.run(check, env=bad_env, check=False).returncode != 0
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_compose_web_command_serves_the_health_check(tmp_path):
    from ctforeclosure import migrate

    database_url = f"sqlite:///{tmp_path / 'web.sqlite3'}"
    migrate.upgrade(database_url)
    web = _compose()["services"]["web"]
    port = free_port()
    given = {"WEB_HOST": "127.0.0.1", "WEB_PORT": str(port)}

    def interpolate(part: str) -> str:
        """Expand ``${NAME:-default}`` as Compose does, with ``given``."""
        return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: given.get(m[1], m[2]), part)

    cmd = [
        str(BIN / web["command"][0]),
        *[interpolate(part) for part in web["command"][1:]],
    ]
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        CTF_SECRET_KEY="test-secret-key-for-the-web-ui",
    )
    proc = _start(cmd, tmp_path, env, f"http://127.0.0.1:{port}/healthz")
    try:
        check = [interpolate(part) for part in web["healthcheck"]["test"][1:]]
        check[0] = sys.executable
        assert subprocess.run(check, env=env, check=False).returncode == 0
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_systemd_units_verify():
    units = sorted((DEPLOY / "systemd").iterdir())
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)],
        capture_output=True,
        text=True,
        check=False,
    )
    # The only complaint allowed: the venv is not installed on this machine.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line and "/opt/ctforeclosure/venv/bin/" not in line
    ]
    assert problems == []


def test_systemd_timer_runs_daily_at_two_with_jitter():
    timer = (DEPLOY / "systemd" / "ctforeclosure-schedule.timer").read_text()
    assert "OnCalendar=*-*-* 02:00:00" in timer
    assert "RandomizedDelaySec=30min" in timer
    result = subprocess.run(
        ["systemd-analyze", "calendar", "*-*-* 02:00:00"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Normalized form: *-*-* 02:00:00" in result.stdout


def _schedule_args(text: str) -> list[str]:
    match = re.search(
        r"/opt/ctforeclosure/venv/bin/ctforeclosure (routine crawl[^>\n]*)", text
    )
    return shlex.split(match.group(1))


def test_the_daily_sales_crawl_is_a_routine_posting_one_job(monkeypatch):
    from ctforeclosure.cli.app import main

    cron = (DEPLOY / "cron" / "ctforeclosure").read_text()
    assert "/opt/ctforeclosure/venv/bin/ctforeclosure routine sales >>" in cron
    monkeypatch.setenv("SCRAPYD_NODES", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "")
    result = CliRunner().invoke(main, ["routine", "sales"])
    assert result.exit_code == 3  # the routines' "no scrapyd node" status
    assert "no scrapyd node answered" in result.output


@pytest.mark.parametrize(
    "path", ["systemd/ctforeclosure-schedule.service", "cron/ctforeclosure"]
)
def test_recurring_schedule_command_is_a_valid_cli_call(path, monkeypatch):
    from ctforeclosure.cli.app import main

    args = _schedule_args((DEPLOY / path).read_text())
    assert args[:2] == ["routine", "crawl"]
    # No node answers on this port: the command parses, resolves all 169 towns and
    # then says which nodes it could not reach.
    monkeypatch.setenv("SCRAPYD_NODES", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3  # the routines' "no scrapyd node" status
    assert "no scrapyd node answered" in result.output


def test_every_routine_has_a_timer_and_a_cron_line():
    from ctforeclosure.cli.routines import routine_group

    cron = (DEPLOY / "cron" / "ctforeclosure").read_text()
    for name in routine_group.commands:
        line = f"/opt/ctforeclosure/venv/bin/ctforeclosure routine {name}"
        assert line in cron, name
        if name == "crawl":
            continue  # ctforeclosure-schedule.timer, the daily crawl's own
        timer = (DEPLOY / "systemd" / f"ctforeclosure-routine-{name}.timer").read_text()
        assert f"Unit=ctforeclosure-routine@{name}.service" in timer
