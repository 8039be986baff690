"""The ``losscore`` command line: ``losscore bench`` (``python -m losscore bench``)."""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="losscore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="time losscore against NumPy (and peers when installed)")
    bench.add_argument("--quick", action="store_true", help="float32, fewer repeats (< 1 min)")
    bench.add_argument("--only", metavar="NAME", help="only operations containing NAME")
    bench.add_argument("--json", metavar="PATH", help="write the raw results as JSON")
    bench.add_argument("--repeats", type=int, default=None, help="timed repeats per case")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "bench":
        from ._bench.run import main as bench_main

        return bench_main(args.quick, args.only, args.json, args.repeats)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
