"""A scrapyd node fails closed: no start without real credentials, no egg uploads
unless a deploy turns them on, and the TLS proxy checks the same credentials.

Everything runs for real on 127.0.0.1: the venv's ``ctforeclosure`` and ``scrapyd``,
the files in ``deploy/`` as an operator installs them, and Debian's nginx.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from ctforeclosure.jobs.scrapyd_api import ScrapydClient

from .cluster import BIN, PASSWORD, REPO, USERNAME, ScrapydNode, free_port
from .test_docker import _dockerfile_instructions, _start

DEPLOY = REPO / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _env_file(path: Path) -> dict[str, str]:
    """Return the KEY=value lines of an environment file such as scrapyd.env."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def _node_env(tmp_path: Path, port: int, **credentials: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPYD_")}
    env.update(
        HOME=str(tmp_path),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        SCRAPYD_BIND_ADDRESS="127.0.0.1",
        SCRAPYD_HTTP_PORT=str(port),
        **credentials,
    )
    return env


def _production_workdir(tmp_path: Path) -> Path:
    """/var/lib/scrapyd with /etc/scrapyd/scrapyd.conf, as the systemd unit runs it."""
    workdir = tmp_path / "var-lib-scrapyd"
    workdir.mkdir()
    shutil.copy2(DEPLOY / "scrapyd.conf", workdir / "scrapyd.conf")
    return workdir


def _image_command() -> list[str]:
    [cmd] = [json.loads(a) for name, a in _dockerfile_instructions() if name == "CMD"]
    return [str(BIN / cmd[0]), *cmd[1:]]


def _refused(cmd: list[str], workdir: Path, env: dict, port: int) -> str:
    """Run a node's start command; assert it exits non-zero and never listened."""
    result = subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/daemonstatus.json", timeout=2)
    return result.stderr


@pytest.mark.parametrize(
    ("credentials", "problem"),
    [
        ({}, "SCRAPYD_PASSWORD is not set"),
        ({"SCRAPYD_USERNAME": "operator"}, "SCRAPYD_PASSWORD is not set"),
        (
            {"SCRAPYD_USERNAME": "operator", "SCRAPYD_PASSWORD": "change-me"},
            "placeholder",
        ),
        (
            {"SCRAPYD_USERNAME": "operator", "SCRAPYD_PASSWORD": "Change_Me_Please!"},
            "placeholder",
        ),
        (
            {"SCRAPYD_USERNAME": "operator", "SCRAPYD_PASSWORD": "short-pw-1"},
            "at least 16",
        ),
    ],
)
def test_image_start_command_refuses_missing_or_placeholder_credentials(
    tmp_path, credentials, problem
):
    port = free_port()
    workdir = _production_workdir(tmp_path)
    stderr = _refused(
        _image_command(), workdir, _node_env(tmp_path, port, **credentials), port
    )
    assert "refusing to start scrapyd" in stderr
    assert problem in stderr


def test_systemd_unit_checks_the_example_env_before_starting_scrapyd(tmp_path):
    unit = (DEPLOY / "systemd" / "ctforeclosure-scrapyd.service").read_text()
    [pre] = [
        line.split("=", 1)[1]
        for line in unit.splitlines()
        if line.startswith("ExecStartPre=")
    ]
    cmd = pre.replace("/opt/ctforeclosure/venv/bin/", f"{BIN}/").split()
    port = free_port()
    shipped = _env_file(DEPLOY / "scrapyd.env.example")
    env = _node_env(tmp_path, port, **shipped)
    # The example ships no password: installed as it is, the unit does not start.
    assert shipped["SCRAPYD_PASSWORD"] == ""
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "SCRAPYD_PASSWORD is not set" in refused.stderr
    env["SCRAPYD_PASSWORD"] = PASSWORD
    assert subprocess.run(cmd, env=env, check=False).returncode == 0


def test_no_sample_file_ships_a_password():
    for path in [*DEPLOY.rglob("*"), REPO / "docker-compose.yml", REPO / "Dockerfile"]:
        if path.is_file():
            text = path.read_text()
            assert "change-me" not in text.lower(), path
            for key, value in _env_file(path).items():
                if "PASSWORD" in key and "${" not in value:
                    assert value in {"", "PASSWORD"}, (path, key)


def _post(url: str, endpoint: str) -> int:
    return requests.post(
        f"{url}/{endpoint}",
        data={"project": "ctforeclosure", "version": "1"},
        auth=(USERNAME, PASSWORD),
        timeout=10,
    ).status_code


def test_production_node_refuses_uploads_until_the_deploy_drop_in(tmp_path):
    port = free_port()
    workdir = _production_workdir(tmp_path)
    env = _node_env(
        tmp_path, port, SCRAPYD_USERNAME=USERNAME, SCRAPYD_PASSWORD=PASSWORD
    )
    url = f"http://127.0.0.1:{port}"
    proc = _start(_image_command(), workdir, env, url)
    try:
        for endpoint in ("addversion.json", "delproject.json", "delversion.json"):
            assert _post(url, endpoint) == 404, endpoint
        assert requests.get(f"{url}/listjobs.json", timeout=10).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    # ~/.scrapyd.conf stands in for /etc/scrapyd/conf.d/50-uploads.conf.
    shutil.copy2(DEPLOY / "scrapyd-uploads.conf", tmp_path / ".scrapyd.conf")
    proc = _start(_image_command(), workdir, env, url)
    try:
        deploy = subprocess.run(
            [str(BIN / "scrapyd-deploy"), "-v", "1"],
            cwd=REPO,
            env=dict(os.environ, SCRAPYD_URL=url)
            | {"SCRAPYD_USERNAME": USERNAME, "SCRAPYD_PASSWORD": PASSWORD},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert deploy.returncode == 0, deploy.stderr[-2000:]
        assert _post(url, "delproject.json") == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _nginx_conf(tmp_path: Path, port: int, upstream: int, htpasswd: Path) -> Path:
    """deploy/nginx-scrapyd.conf inside a minimal nginx.conf, on test ports."""
    cert, key = _self_signed(tmp_path)
    server = (
        (DEPLOY / "nginx-scrapyd.conf")
        .read_text()
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
        .replace("/etc/ssl/certs/scrapyd1.pem", str(cert))
        .replace("/etc/ssl/private/scrapyd1.key", str(key))
        .replace("/etc/nginx/scrapyd.htpasswd", str(htpasswd))
        .replace("127.0.0.1:6800", f"127.0.0.1:{upstream}")
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        # Workers as root: pytest's temporary folders are the owner's only (in
        # production the file is root:www-data 0640, read by www-data workers).
        f"daemon off;\nuser root;\nworker_processes 1;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {tmp_path}/body;\n"
        f"proxy_temp_path {tmp_path}/proxy;\n{server}\n}}\n"
    )
    return conf


@pytest.fixture
def scrapyd_node(tmp_path):
    node = ScrapydNode(tmp_path / "node", dict(os.environ)).start()
    yield node
    node.stop()


def test_tls_proxy_checks_the_same_credentials_and_passes_them_on(
    tmp_path, scrapyd_node, monkeypatch
):
    if not Path(NGINX).exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: scripts/test installs it from apt")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    env = dict(os.environ, SCRAPYD_USERNAME=USERNAME, SCRAPYD_PASSWORD=PASSWORD)
    line = subprocess.run(
        [str(BIN / "ctforeclosure"), "node", "htpasswd"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert PASSWORD not in line
    htpasswd = tmp_path / "scrapyd.htpasswd"
    htpasswd.write_text(line)
    port = free_port()
    conf = _nginx_conf(tmp_path, port, scrapyd_node.port, htpasswd)
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)])
    try:
        url = f"https://localhost:{port}"
        verify = str(tmp_path / "cert.pem")
        deadline = time.monotonic() + 20
        while True:
            try:
                anonymous = requests.get(f"{url}/", verify=verify, timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, (tmp_path / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        # nginx answers, not scrapyd: its realm, and no request reached the node.
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="scrapyd"'
        wrong = requests.get(
            f"{url}/daemonstatus.json",
            auth=(USERNAME, PASSWORD + "x"),
            verify=verify,
            timeout=5,
        )
        assert wrong.status_code == 401
        # The operator's client, through both layers with one credential pair.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", verify)
        client = ScrapydClient(url, username=USERNAME, password=PASSWORD)
        assert client.daemon_status()["status"] == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
