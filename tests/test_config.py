"""``ctforeclosure.config`` is the only reader of the environment."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from ctforeclosure import config

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("ctforeclosure", "webui")
THE_READER = ROOT / "ctforeclosure" / "config.py"
#: Calls on ``os.environ`` that change it without reading it.
WRITES = frozenset({"setdefault", "update", "pop", "clear"})


def _os_names(tree: ast.AST) -> set[str]:
    """Return the names the module gives the ``os`` module (``os``, ``_os``...)."""
    names = {"os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name for a in node.names if a.name == "os"}
    return names


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    """Return each node's parent."""
    return {
        child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
    }


def _is_read(node: ast.AST, os_names: set[str], parents: dict) -> bool:
    """Whether the node is ``os.getenv`` or a use of ``os.environ`` that reads it."""
    if not (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in os_names
    ):
        return False
    if node.attr in {"getenv", "getenvb"}:
        return True
    return node.attr in {"environ", "environb"} and not _is_write(node, parents)


def _is_write(node: ast.Attribute, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether this use of ``os.environ`` only sets or deletes variables."""
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript):
        return isinstance(parent.ctx, ast.Store | ast.Del)
    if isinstance(parent, ast.Attribute) and parent.attr in WRITES:
        call = parents.get(parent)
        return isinstance(call, ast.Call) and call.func is parent
    return False


def environment_reads(source: str) -> list[tuple[int, str]]:
    """Return (line, what) for each read of the environment in a module's source."""
    tree = ast.parse(source)
    os_names, parents = _os_names(tree), _parents(tree)
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            names = {a.name for a in node.names} & {"environ", "environb", "getenv"}
            reads += [(node.lineno, f"from os import {name}") for name in names]
        elif _is_read(node, os_names, parents):
            reads.append((node.lineno, f"os.{node.attr}"))
    return sorted(reads)


def test_the_scan_tells_reads_from_writes():
    source = (
        "import os\n"
        "import os as _os\n"
        "from os import environ, getenv\n"
        "a = os.environ.get('A')\n"
        "b = _os.environ['B']\n"
        "c = os.getenv('C')\n"
        "d = dict(os.environ)\n"
        "_os.environ.setdefault('E', '')\n"
        "os.environ['F'] = '1'\n"
        "del os.environ['F']\n"
        "os.environ.update(G='1')\n"
        "pid = os.getpid()\n"
    )
    assert [line for line, _ in environment_reads(source)] == [3, 3, 4, 5, 6, 7]


def test_only_config_reads_the_environment():
    found = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == THE_READER:
                continue
            for line, what in environment_reads(path.read_text()):
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == [], (
        "read the environment in ctforeclosure/config.py only (a Config field), "
        "and hand the value over:\n" + "\n".join(found)
    )


def test_load_reads_the_crawl_switches_and_what_scrapyd_sets(monkeypatch):
    monkeypatch.setenv("JUDICIARY_SEARCH_MODE", "http")
    monkeypatch.setenv("CTF_CRAWL_WINDOW", "22:00-06:00")
    monkeypatch.setenv("SKIPTRACE_ENABLED", "Yes")
    monkeypatch.setenv("SKIPTRACE_UNIT_COST", " 0.11 ")
    monkeypatch.setenv("SCRAPY_JOB", "7c1f0e2a")
    monkeypatch.setenv("CTF_NODE", "node-a")
    cfg = config.load()
    assert cfg.judiciary_search_mode == "http"
    assert cfg.crawl_window == "22:00-06:00"
    assert cfg.skiptrace_enabled
    assert cfg.skiptrace_limits == {"SKIPTRACE_UNIT_COST": "0.11"}
    assert (cfg.scrapy_job, cfg.node_name) == ("7c1f0e2a", "node-a")
    assert not cfg.scrapy_check


def test_load_defaults_without_the_crawl_variables(monkeypatch):
    for name in ("JUDICIARY_SEARCH_MODE", "CTF_CRAWL_WINDOW", "SCRAPY_JOB", "CTF_NODE"):
        monkeypatch.delenv(name, raising=False)
    cfg = config.load()
    assert (cfg.judiciary_search_mode, cfg.crawl_window) == ("auto", "")
    assert not cfg.skiptrace_enabled
    assert cfg.scrapy_job is None and cfg.node_name is None


@pytest.mark.parametrize("value", ["0", "no", "off", ""])
def test_skiptrace_stays_off_unless_switched_on(monkeypatch, value):
    monkeypatch.setenv("SKIPTRACE_ENABLED", value)
    assert not config.load().skiptrace_enabled


def test_load_reads_the_alert_channels_and_hides_the_smtp_password(monkeypatch):
    monkeypatch.setenv("SMTP_PORT", "2525")
    monkeypatch.setenv("SMTP_SECURITY", "SSL")
    monkeypatch.setenv("SMTP_PASSWORD", "pw-not-in-repr")
    monkeypatch.setenv("ALERT_EMAIL_TO", "a@example.org, ,b@example.org")
    cfg = config.load()
    assert cfg.smtp_port == "2525" and cfg.smtp_security == "ssl"
    assert cfg.alert_email_to == ("a@example.org", "b@example.org")
    assert "pw-not-in-repr" not in repr(cfg)


def test_a_bad_skiptrace_limit_stops_skip_tracing_only(monkeypatch):
    from ctforeclosure.skiptrace.settings import SkipTraceSettings

    monkeypatch.setenv("SKIPTRACE_RUN_BUDGET", "lots")
    cfg = config.load()  # the CLI, the web UI and crawls still start
    with pytest.raises(ValueError, match="SKIPTRACE_RUN_BUDGET='lots'"):
        SkipTraceSettings.from_config(cfg)
    monkeypatch.setenv("SKIPTRACE_RUN_BUDGET", "75")
    assert SkipTraceSettings.from_config(config.load()).run_budget == Decimal("75")


def test_load_reads_the_trusted_proxy_hops(monkeypatch):
    assert config.load().trusted_proxy_hops == "0"
    monkeypatch.setenv("CTF_TRUSTED_PROXY_HOPS", " 1 ")
    assert config.load().trusted_proxy_hops == "1"


def test_the_database_timeout_reaches_every_postgresql_connection(monkeypatch):
    """A silent database (packets dropped) must become an error the crawl spools on:
    each PostgreSQL connection carries the timeout; a bad value names its variable."""
    from ctforeclosure import db

    monkeypatch.setenv("CTF_DB_TIMEOUT_SECONDS", "6")
    engine = db.make_engine("postgresql+psycopg://ctf@127.0.0.1:1/ctf")
    args = {}

    @sa.event.listens_for(engine, "do_connect")
    def _seen(_dialect, _record, _cargs, cparams):
        args.update(cparams)
        raise ConnectionAbortedError("seen; no connection needed")

    with pytest.raises(ConnectionAbortedError, match="seen"):
        engine.connect()
    engine.dispose()
    assert (args["connect_timeout"], args["tcp_user_timeout"]) == (6, 6000)
    assert (args["keepalives_idle"], args["keepalives_count"]) == (2, 3)
    monkeypatch.setenv("CTF_DB_TIMEOUT_SECONDS", "soon")
    with pytest.raises(ValueError, match="CTF_DB_TIMEOUT_SECONDS"):
        config.db_timeout_seconds()
