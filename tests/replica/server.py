"""Run the replica on a free loopback port in a background thread (tests, demos).

    with ReplicaServer(cases=300) as replica:
        os.environ.update(replica.env)
        ...
        replica.truth(town="Hartford")

Werkzeug's threaded server is used here (instant start and stop); the benchmark
runs the same app under waitress.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterable

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import PREFIXES, create_app
from .options import BATCHDATA_API_KEY, ReplicaOptions

HOST = "127.0.0.1"  # loopback only, always


class _QuietHandler(WSGIRequestHandler):
    """Keep test output clean: no access log line per request."""

    def log_request(self, *args, **kwargs) -> None:
        pass


def env_for(root: str) -> dict[str, str]:
    """Return the environment variables that point the project at a replica root."""
    return {
        "CTJUD_BASE_URL": root + PREFIXES["judiciary"],
        "CTJUD_SALES_BASE_URL": root + PREFIXES["sales"],
        "STATE_LIBRARY_TOWNS_URL": root + PREFIXES["statelib"],
        "BATCHDATA_BASE_URL": root + PREFIXES["batchdata"] + "/api/v1",
        "BATCHDATA_API_KEY": BATCHDATA_API_KEY,
    }


class ReplicaServer:
    """A replica instance served by a threaded server on 127.0.0.1."""

    def __init__(
        self,
        seed: int = 0,
        cases: int = 300,
        fast: bool = True,
        faults: Iterable[str] = (),
        towns: str | None = None,
        *,
        port: int = 0,
        **options,
    ):
        if towns is not None:
            options["towns"] = tuple(towns)
        self.options = ReplicaOptions(
            seed=seed, cases=cases, fast=fast, faults=frozenset(faults), **options
        )
        self.app = create_app(self.options)
        self._port = port
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def state(self):
        return self.app.extensions["replica"]

    @property
    def dataset(self):
        return self.state.dataset

    def start(self) -> ReplicaServer:
        """Bind a free port (or the one given) and serve in a daemon thread."""
        self._server = make_server(
            HOST, self._port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="replica",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def root(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return env_for(self.root)

    def url(self, service: str, path: str = "") -> str:
        """Return the URL of ``path`` under a service ("judiciary", "sales", ...)."""
        return self.root + PREFIXES[service] + path

    def truth(
        self, town: str | None = None, county: str | None = None, *, listing_only=False
    ) -> list[dict]:
        """Return /_replica/truth.json (fetched over HTTP, as a test client would)."""
        query = urllib.parse.urlencode(
            {k: v for k, v in (("town", town), ("county", county)) if v}
            | ({"listing_only": "1"} if listing_only else {})
        )
        with urllib.request.urlopen(f"{self.root}/_replica/truth.json?{query}") as resp:
            return json.load(resp)

    def sales_truth(self, town: str | None = None) -> list[dict]:
        """Return /_replica/sales_truth.json: every listed sale posting."""
        query = urllib.parse.urlencode({"town": town} if town else {})
        url = f"{self.root}/_replica/sales_truth.json?{query}"
        with urllib.request.urlopen(url) as resp:
            return json.load(resp)

    def mutate(self, **changes) -> dict:
        """POST /_replica/mutate with ``changes`` and return its report."""
        request = urllib.request.Request(
            f"{self.root}/_replica/mutate",
            data=json.dumps(changes).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request) as resp:
            return json.load(resp)
