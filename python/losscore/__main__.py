"""The ``losscore`` command line (also ``python -m losscore``): bench, eval, demo."""

from __future__ import annotations

import argparse
import difflib
import re
import sys

from . import _cli_eval

DESCRIPTION = "Fast, deterministic loss functions, fused gradients and optimizer steps for NumPy."

EPILOG = """\
examples:
  losscore bench --quick
  losscore eval pred.npy data.npz:target --loss mse,huber --param huber.delta=0.5
  losscore demo --epochs 10

Run 'losscore COMMAND --help' for a command's options.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with a "did you mean" for a misspelled command or choice."""

    def error(self, message: str) -> None:  # type: ignore[override]
        match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if match:
            choices = re.findall(r"'([^']*)'", match.group(2))
            close = difflib.get_close_matches(match.group(1), choices, n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
        super().error(message)


def _version() -> str:
    from . import __version__, isa

    return f"losscore {__version__} (isa {isa()})"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="losscore",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    bench = sub.add_parser("bench", help="time losscore against NumPy (and peers when installed)")
    bench.add_argument("--quick", action="store_true", help="float32, fewer repeats (< 1 min)")
    bench.add_argument("--only", metavar="NAME", help="only operations containing NAME")
    bench.add_argument("--json", metavar="PATH", help="write the raw results as JSON")
    bench.add_argument("--repeats", type=int, default=None, help="timed repeats per case")
    bench.add_argument("--plot", metavar="PATH", help="write a PNG chart of the speedups")
    bench.add_argument("--wide", action="store_true",
                       help="one wide line per result: every contender's min/median, GB/s")
    bench.add_argument("--markdown", action="store_true",
                       help="print a Markdown table (the README's) instead of the text table")
    bench.add_argument(
        "--threads",
        type=int,
        nargs="+",
        metavar="N",
        help="thread counts to run, interleaved (default: 1 and all; all with --quick)",
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
            args.quick, args.only, args.json, args.repeats, args.plot, args.threads,
            wide=args.wide, markdown_table=args.markdown,
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
