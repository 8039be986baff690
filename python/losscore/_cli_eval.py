"""``losscore eval``: losses over ``.npy``/``.npz``/zarr files larger than memory, in chunks."""

from __future__ import annotations

import argparse
import difflib
import json
import math
import sys
from typing import Any

import numpy as np

from ._loss_lookup import check_reduction, loss_names, resolve
from .errors import LosscoreError
from .evaluation import evaluate_many


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate losses over .npy/.npz/.zarr files (memory-mapped, chunked)",
        description="Evaluate one or more losses over prediction/target files, chunk by chunk, "
        "with results bitwise equal to the in-memory call. Arrays: FILE.npy, FILE.npz (one "
        "array), FILE.npz:KEY, DIR.zarr or DIR.zarr:NAME (with zarr installed). Class-axis "
        "losses (cross_entropy, nll_loss, multi_margin) take logits (N, C) with labels (N,).",
    )
    p.add_argument(
        "pred", help="predictions (or logits): FILE.npy, FILE.npz[:KEY], DIR.zarr[:NAME]"
    )
    p.add_argument("target", help="targets: pred's shape, or class labels (N,) for class losses")
    p.add_argument(
        "--loss",
        required=True,
        help=f"loss name(s), comma-separated (e.g. mse,mae): {', '.join(loss_names())}",
    )
    p.add_argument(
        "--reduction",
        choices=["mean", "sum", "batchmean"],
        default=None,
        help="default: each loss's own (mean; batchmean for kl_div)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="loss parameter (repeatable); LOSS.KEY=VALUE targets one loss; comma-separated "
        "numbers give an array (class_weight=1,2,0.5)",
    )
    p.add_argument("--weight", help="weights: per element (per sample for class losses)")
    p.add_argument("--chunk-size", type=int, default=None, help="elements of pred per chunk")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the results as JSON (strict: a NaN or infinite value prints as null)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if "," in text:
        try:
            return np.array([float(v) for v in text.split(",")])
        except ValueError:
            return text
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _assign_params(names: list[str], specs: list[str]) -> list[dict[str, Any]]:
    accepted = [set(resolve(n).defaults) for n in names]
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
            known = sorted(set().union(*(accepted[i] for i in targets)))
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise LosscoreError(
                f"--param {spec!r}: no selected loss takes a parameter {key!r}{hint} ({takes})"
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
    reductions = [check_reduction(resolve(n), args.reduction) for n in names]
    if args.json:
        rows = zip(names, values, params, reductions, strict=True)
        report = {
            "pred": args.pred,
            "target": args.target,
            "reduction": args.reduction,
            "results": {
                n: {"value": v, "reduction": r, "params": _plain(p)} for n, v, p, r in rows
            },
        }
        # allow_nan=False: what is printed is JSON any parser reads (NaN and inf are not JSON).
        print(json.dumps(_finite_or_null(report), indent=2, allow_nan=False))
    else:
        for name, value, reduction in zip(names, values, reductions, strict=True):
            print(f"{name:<20} {reduction:<5} {value!r}")
    return 0


def _finite_or_null(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, +-inf) replaced by ``None`` (JSON ``null``)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite_or_null(v) for v in obj]
    return obj


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON values (arrays as lists)."""
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in params.items()}
