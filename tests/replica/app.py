"""The replica as one WSGI app: every remote service under its own path prefix.

``/civilinquiry`` the judiciary's case look-up, ``/sales/foreclosures/Public`` the
pending-sales pages, ``/statelib/cttowns`` the State Library towns page, ``/batchdata``
the skip-trace API (when tests/replica/batchdata.py is present), and at the root
``/robots.txt`` and the replica's own ``/_replica/*`` endpoints (truth, mutate).
"""

from __future__ import annotations

import importlib
import itertools
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import Flask, Response, current_app, g, jsonify, request

from . import faults as fault_injection
from . import request_rate
from .aspnet import Machinery, NoBotRules
from .data import Dataset
from .options import ReplicaOptions
from .truth import truth

PREFIXES = {
    "judiciary": "/civilinquiry",
    "sales": "/sales/foreclosures/Public",
    "statelib": "/statelib/cttowns",
    "batchdata": "/batchdata",
}


@dataclass
class ReplicaState:
    """Everything one replica instance serves from."""

    options: ReplicaOptions
    dataset: Dataset
    machinery: Machinery
    prefixes: dict[str, str] = field(default_factory=lambda: dict(PREFIXES))
    nobot_answers: Iterator[int] = field(default_factory=itertools.count)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refuse_some_nobot_answer(self) -> bool:
        """Return True for the NoBot answers "nobot-reject-some" refuses."""
        with self.lock:
            return fault_injection.in_burst(
                self.nobot_answers, self.options.fault_every
            )


def _rules(options: ReplicaOptions) -> NoBotRules:
    rules = NoBotRules(enforce_timing=not options.fast)
    if options.nobot_min_delay is not None:
        rules.min_delay = options.nobot_min_delay
    if options.nobot_window is not None:
        rules.window = options.nobot_window
    if options.nobot_max_instances is not None:
        rules.max_instances = options.nobot_max_instances
    return rules


def _install_server_timing(app: Flask) -> None:
    """Report the app's own time per response (benchmarks separate it from HTTP)."""

    @app.before_request
    def _start():
        g.replica_started = time.perf_counter()

    @app.after_request
    def _stop(resp):
        elapsed = (time.perf_counter() - g.replica_started) * 1000
        resp.headers["Server-Timing"] = f"app;dur={elapsed:.3f}"
        return resp


def create_app(options: ReplicaOptions | None = None) -> Flask:
    """Return the replica WSGI app for these options."""
    options = options or ReplicaOptions()
    app = Flask(__name__)
    dataset = Dataset(
        seed=options.seed,
        cases=options.cases,
        abbreviate=options.abbreviate_towns,
        towns=options.towns,
    )
    if options.capture_mode:
        from .capture import install

        install(dataset)
    fault_injection.blank_zips(dataset, options.faults)
    if options.day:
        from .evolution import advance

        advance(dataset, options.day)
    state = ReplicaState(
        options=options,
        dataset=dataset,
        machinery=Machinery(secret=secrets.token_bytes(32), rules=_rules(options)),
    )
    app.extensions["replica"] = state
    # First, so that requests a fault refuses are counted too.
    request_rate.install(app, PREFIXES["judiciary"])
    fault_injection.install(app, options.faults, options.fault_every)
    if options.server_timing:
        _install_server_timing(app)

    from .judiciary import bp as judiciary_bp

    app.register_blueprint(judiciary_bp, url_prefix=PREFIXES["judiciary"])
    for module, key in (("statelib", "statelib"), ("sales", "sales")):
        try:
            mod = importlib.import_module(f"{__package__}.{module}")
        except ModuleNotFoundError:
            continue
        app.register_blueprint(mod.bp, url_prefix=PREFIXES[key])
    try:
        batchdata = importlib.import_module(f"{__package__}.batchdata")
    except ModuleNotFoundError:
        batchdata = None
    if batchdata is not None:
        # Faults named "batchdata-..." belong to the skip-trace stand-in.
        bd_faults = frozenset(
            f.removeprefix("batchdata-")
            for f in options.faults
            if f.startswith("batchdata-")
        )
        app.register_blueprint(
            batchdata.make_blueprint(
                seed=options.seed,
                rate_limit_per_minute=options.batchdata_rate_limit,
                faults=bd_faults,
            ),
            url_prefix=PREFIXES["batchdata"],
        )

    @app.get("/robots.txt")
    def robots():
        if "robots-disallow" in options.faults:
            body = "User-agent: *\nDisallow: /\n"
        else:
            body = "User-agent: *\nDisallow:\n"
        return Response(body, mimetype="text/plain")

    @app.get("/_replica/truth.json")
    def truth_json():
        st = current_app.extensions["replica"]
        return jsonify(
            truth(
                st.dataset,
                town=request.args.get("town") or None,
                county=request.args.get("county") or None,
                listing_only=request.args.get("listing_only") in ("1", "true"),
            )
        )

    @app.get("/_replica/sales_truth.json")
    def sales_truth_json():
        from .sales_state import sales_truth

        st = current_app.extensions["replica"]
        return jsonify(sales_truth(st.dataset, request.args.get("town") or None))

    @app.post("/_replica/mutate")
    def mutate_json():
        from .evolution import mutate

        st = current_app.extensions["replica"]
        try:
            report = mutate(st.dataset, request.get_json(force=True, silent=True) or {})
        except (KeyError, ValueError) as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify(report)

    @app.get("/_replica/info")
    def info():
        st = current_app.extensions["replica"]
        return jsonify(
            {
                "seed": options.seed,
                "cases": len(st.dataset.cases),
                "day": st.dataset.day,
                "today": st.dataset.today.isoformat(),
                "fast": options.fast,
                "faults": sorted(options.faults),
            }
        )

    return app
