"""``losscore eval``: losses over ``.npy``/``.npz`` files larger than memory, in chunks."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from typing import Any

from .errors import LosscoreError
from .evaluation import evaluate_many, resolve_loss

_RESERVED = {"pred", "target", "weight", "reduction", "out"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate losses over .npy/.npz files (memory-mapped, chunked)",
        description="Evaluate one or more losses over prediction/target files, chunk by chunk, "
        "with results bitwise equal to the in-memory call. Arrays: FILE.npy, FILE.npz (one "
        "array) or FILE.npz:KEY.",
    )
    p.add_argument("pred", help="predictions: FILE.npy or FILE.npz[:KEY]")
    p.add_argument("target", help="targets, same shape")
    p.add_argument("--loss", required=True, help="loss name(s), comma-separated (e.g. mse,mae)")
    p.add_argument("--reduction", choices=["mean", "sum", "batchmean"], default="mean")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="loss parameter (repeatable); LOSS.KEY=VALUE targets one loss",
    )
    p.add_argument("--weight", help="per-element weights, same shape")
    p.add_argument("--chunk-size", type=int, default=None, help="elements per chunk")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _assign_params(names: list[str], specs: list[str]) -> list[dict[str, Any]]:
    fns = [resolve_loss(n) for n in names]
    accepted = [set(inspect.signature(f).parameters) - _RESERVED for f in fns]
    params: list[dict[str, Any]] = [{} for _ in names]
    for spec in specs:
        key, sep, raw = spec.partition("=")
        if not sep or not key:
            raise LosscoreError(f"--param expects KEY=VALUE, got {spec!r}")
        scope, dot, key = key.rpartition(".")
        targets = [i for i, n in enumerate(names) if not dot or n == scope]
        if dot and not targets:
            raise LosscoreError(f"--param {spec!r}: {scope!r} is not one of the losses {names}")
        takers = [i for i in targets if key in accepted[i]]
        if not takers:
            takes = "; ".join(f"{n}: {sorted(a)}" for n, a in zip(names, accepted, strict=True))
            raise LosscoreError(
                f"--param {spec!r}: no selected loss takes a parameter {key!r} ({takes})"
            )
        for i in takers:
            params[i][key] = _value(raw)
    return params


def run(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.loss.split(",") if n.strip()]
    try:
        if not names:
            raise LosscoreError("--loss: give at least one loss name")
        params = _assign_params(names, args.param)
        values = evaluate_many(
            list(zip(names, params, strict=True)),
            args.pred,
            args.target,
            weight=args.weight,
            reduction=args.reduction,
            chunk_size=args.chunk_size,
            progress=not args.no_progress,
        )
    except (LosscoreError, OSError, TypeError, ValueError) as exc:
        print(f"losscore eval: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        rows = zip(names, values, params, strict=True)
        print(
            json.dumps(
                {
                    "pred": args.pred,
                    "target": args.target,
                    "reduction": args.reduction,
                    "results": {
                        n: {"value": v, "params": p} for n, v, p in rows
                    },
                },
                indent=2,
            )
        )
    else:
        for name, value in zip(names, values, strict=True):
            print(f"{name:<20} {args.reduction:<5} {value!r}")
    return 0
