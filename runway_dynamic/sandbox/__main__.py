"""``python -m runway_dynamic.sandbox``: serve the API simulator in the foreground."""

from __future__ import annotations

import argparse
import sys

from runway_dynamic.sandbox.faults import FaultSyntaxError, parse_fault


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m runway_dynamic.sandbox",
        description="Serve a local, stateful simulator of the Runway API built from the spec.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--task-seconds", type=float, default=1.0,
                        help="how long a task takes to succeed (default: 1.0)")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="a fault for every request, e.g. 'status=503; times=2' (repeatable)")
    parser.add_argument("--spec", default=None, help="spec file or URL (default: the usual chain)")
    parser.add_argument("--no-auth", action="store_true", help="accept requests without a key")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)
    for spec_text in args.fault:
        try:
            parse_fault(spec_text)
        except FaultSyntaxError as exc:
            parser.error(f"--fault {spec_text!r}: {exc}")

    from runway_dynamic.sandbox import Sandbox
    from runway_dynamic.spec import load_spec

    sandbox = Sandbox(load_spec(args.spec), host=args.host, port=args.port,
                      task_seconds=args.task_seconds, faults=args.fault,
                      require_auth=not args.no_auth, verbose=args.verbose)
    print(f"Runway sandbox listening on {sandbox.base_url} (Ctrl-C to stop)", flush=True)
    sandbox.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
