"""``python -m tests.replica``: serve the replica on 127.0.0.1 until interrupted.

    python -m tests.replica --port 8800 --cases 5000 --print-env
    eval "$(python -m tests.replica --port 8800 --print-env-only)"   # just the env

``--host`` binds another address, but only one of the network tests' own hosts
(198.18.0.0/15, inside network namespaces: tests/netns/) or loopback.

Uses waitress (multi-threaded, production-grade) so it can also back benchmarks.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
import warnings

from .app import create_app
from .options import FAULTS, SALES_INDEX_LAYOUTS, STATELIB_LAYOUTS, ReplicaOptions
from .server import HOST, env_for

SEND_BYTES = 1 << 19  # larger than any page the replica serves
#: The range set aside for network tests (RFC 2544): the namespaces' test hosts.
TEST_HOSTS = ipaddress.ip_network("198.18.0.0/15")


def _host(text: str) -> str:
    """Accept loopback or a test host's address, nothing that a network reaches."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address") from exc
    if not (address.is_loopback or address in TEST_HOSTS):
        raise argparse.ArgumentTypeError(f"{text}: only loopback or {TEST_HOSTS}")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.replica",
        description="Serve the offline replica on 127.0.0.1 (tests/replica/README.md).",
    )
    parser.add_argument("--host", type=_host, default=HOST, help=f"({HOST})")
    parser.add_argument("--port", type=int, default=8800)
    parser.add_argument(
        "--towns", help="comma-separated canonical towns: only they get cases"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument(
        "--fast", action="store_true", help="turn NoBot timing rules off (unit tests)"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help=f"inject a fault (repeatable): {', '.join(sorted(FAULTS))}",
    )
    parser.add_argument(
        "--fault-town", default="Meriden", help='the town "nobot-reject-town" hits'
    )
    parser.add_argument("--day", type=int, default=0, help="evolve the data by N days")
    parser.add_argument("--towns-layout", choices=STATELIB_LAYOUTS, default="entries")
    parser.add_argument(
        "--sales-index-layout", choices=SALES_INDEX_LAYOUTS, default="panel"
    )
    parser.add_argument("--abbreviate-towns", action="store_true")
    parser.add_argument("--capture-mode", action="store_true")
    parser.add_argument(
        "--nobot-min-delay", type=float, help="seconds between page and postback (2)"
    )
    parser.add_argument("--nobot-window", type=float, help="rate window, seconds (60)")
    parser.add_argument(
        "--nobot-max-postbacks", type=int, help="postbacks per window per client (5)"
    )
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--server-timing", action="store_true", help="add Server-Timing headers"
    )
    parser.add_argument(
        "--print-env", action="store_true", help="print KEY=value lines, then serve"
    )
    parser.add_argument(
        "--print-env-only", action="store_true", help="print KEY=value lines and exit"
    )
    args = parser.parse_args(argv)
    env = env_for(f"http://{args.host}:{args.port}")
    if args.print_env or args.print_env_only:
        for key, value in env.items():
            print(f"{key}={value}")
        sys.stdout.flush()
        if args.print_env_only:
            return 0
    options = ReplicaOptions(
        seed=args.seed,
        cases=args.cases,
        towns=tuple(t.strip() for t in args.towns.split(",")) if args.towns else None,
        fast=args.fast,
        faults=frozenset(args.fault),
        day=args.day,
        statelib_layout=args.towns_layout,
        sales_index_layout=args.sales_index_layout,
        abbreviate_towns=args.abbreviate_towns,
        capture_mode=args.capture_mode,
        server_timing=args.server_timing,
        nobot_min_delay=args.nobot_min_delay,
        nobot_window=args.nobot_window,
        nobot_max_instances=args.nobot_max_postbacks,
        fault_town=args.fault_town,
    )
    app = create_app(options)
    if args.fast:
        print("replica: --fast: NoBot timing rules are OFF", file=sys.stderr)
    print(
        f"replica: {len(app.extensions['replica'].dataset.cases)} cases on "
        f"http://{args.host}:{args.port}",
        file=sys.stderr,
    )
    import waitress

    if "drop-connection" in options.faults:
        # The fault aborts responses by raising on purpose; waitress would log each
        # one with a traceback that looks like a bug.
        logging.getLogger("waitress").setLevel(logging.CRITICAL)

    # send_bytes: hand a whole page to the socket once the response is complete
    # instead of flushing headers and body piecemeal from the worker thread; it
    # halves the latency a client sees for a 300 KB results page (measured in
    # bench/replica_bench.py). Deprecated in waitress 3, still honoured.
    warnings.filterwarnings("ignore", "send_bytes", DeprecationWarning)
    waitress.serve(
        app,
        host=args.host,
        port=args.port,
        threads=args.threads,
        send_bytes=SEND_BYTES,
        _quiet=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
