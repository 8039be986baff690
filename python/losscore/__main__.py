"""The ``losscore`` command line: ``losscore bench``, ``losscore eval`` (``python -m losscore``)."""

from __future__ import annotations

import argparse
import sys

from . import _cli_eval


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="losscore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="time losscore against NumPy (and peers when installed)")
    bench.add_argument("--quick", action="store_true", help="float32, fewer repeats (< 1 min)")
    bench.add_argument("--only", metavar="NAME", help="only operations containing NAME")
    bench.add_argument("--json", metavar="PATH", help="write the raw results as JSON")
    bench.add_argument("--repeats", type=int, default=None, help="timed repeats per case")
    bench.add_argument("--plot", metavar="PATH", help="write a PNG chart of the speedups")
    bench.add_argument(
        "--threads",
        type=int,
        nargs="+",
        metavar="N",
        help="thread counts to run (default: all; 1 and all without --quick)",
    )
    _cli_eval.add_parser(sub)
    demo = sub.add_parser("demo", help="train an MLP on a generated data set, plot the curves")
    demo.add_argument(
        "--epochs", type=int, default=None, help="training epochs (default 30; 8 with --explode)"
    )
    demo.add_argument("--out", metavar="PATH", default="losscore-demo.png",
                      help="learning-curve PNG (needs matplotlib; '' to skip)")
    demo.add_argument("--seed", type=int, default=0, help="data and initialisation seed")
    demo.add_argument(
        "--explode",
        action="store_true",
        help="show exploding gradients (a too-large lr), the warning and two cures",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "bench":
        from ._bench.run import main as bench_main

        return bench_main(
            args.quick, args.only, args.json, args.repeats, args.plot, args.threads
        )
    if args.command == "eval":
        return _cli_eval.run(args)
    if args.command == "demo":
        if args.explode:
            from ._demo import explode

            return explode(8 if args.epochs is None else args.epochs, args.seed)
        from ._demo import main as demo_main

        return demo_main(30 if args.epochs is None else args.epochs, args.out or None, args.seed)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
