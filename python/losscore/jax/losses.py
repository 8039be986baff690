"""Every losscore loss as a JAX function that works under ``jit``, ``grad``, ``value_and_grad``
and ``vmap`` (CPU, float32/float64).

Each function is a ``jax.custom_vjp`` built from the NumPy-level loss of the same name: the value
(and, when differentiated, the fused gradient) is computed by losscore in a host callback
(``jax.pure_callback``); the VJP multiplies that closed-form gradient by the cotangent (per
element, or per sample row for class losses, with ``reduction="none"``). Under ``vmap`` one
callback receives the whole batch and loops over it. The first argument is differentiated (every
input of a loss of several inputs: ``gaussian_nll``, ``margin_ranking``, ``cosine_embedding``,
``triplet_margin``, those differentiated coming from one fused pass); differentiating through
another argument raises :class:`losscore.errors.ParameterError` (wrap it in
``jax.lax.stop_gradient`` if it is meant to be constant). Arguments that are not arrays
(``reduction``, ``delta``, ``ignore_index``, ...) are static: each new value traces anew.

Shapes, dtypes and hyperparameters are checked when the function is traced, so bad input raises
the same :mod:`losscore.errors` exception as the NumPy function; value checks (a class index out
of range, ...) run in the callback and, under a transformation (``jit``, ``grad``, ``vmap``),
surface as JAX's runtime error quoting losscore's message; called directly on arrays, they raise
the losscore exception itself.

>>> import jax, jax.numpy as jnp
>>> import losscore.jax as lcj
>>> logits = jnp.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
>>> labels = jnp.array([0, 2])
>>> value, g = jax.jit(jax.value_and_grad(lcj.cross_entropy))(logits, labels)
>>> round(float(value), 5)
0.66908
>>> bool(abs(g.sum(axis=-1)).max() < 1e-6)  # softmax minus one-hot: rows sum to 0
True
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _bridges
from ..errors import DTypeError, ParameterError, ShapeError
from ..gradients import value_and_grad
from ..losses import registry

__all__ = list(_bridges._loss_names())

_ROWS = _bridges._row_losses()
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# Total reductions return a 0-d value; anything else ("none") one value per element or row.
_TOTALS = frozenset({"mean", "sum", "batchmean"})


def _is_array(value: Any) -> bool:
    return isinstance(value, jax.Array | np.ndarray | jax.core.Tracer)


def _jax_array(value: Any, name: str) -> Any:
    """Tracers and JAX arrays as they are; anything else through ``jnp.asarray`` (JAX's dtype
    rules: float64 becomes float32 unless x64 is enabled)."""
    if isinstance(value, jax.Array | jax.core.Tracer):
        return value
    if isinstance(value, np.ndarray) and not value.dtype.isnative:
        value = value.astype(value.dtype.newbyteorder("="))  # JAX holds native byte order only
    try:
        return jnp.asarray(value)
    except (TypeError, OverflowError) as exc:  # strings, objects; ints JAX cannot hold
        raise DTypeError(f"{name}: expected a numeric array JAX can hold ({exc})") from None


def _batched(
    compute: Callable[..., tuple[np.ndarray, ...]],
    arrays: Sequence[Any],
    base_ndims: Sequence[int],
) -> tuple[np.ndarray, ...]:
    """Run ``compute`` on the callback's arrays, looping over leading axes added by ``vmap``.

    ``vmap_method="expand_dims"`` gives every argument the same number of new leading axes
    (size 1 where it is not batched).
    """
    arrays = [np.asarray(a) for a in arrays]
    extra = arrays[0].ndim - base_ndims[0]
    if extra == 0:
        return compute(*arrays)
    batch = np.broadcast_shapes(*(a.shape[:extra] for a in arrays))
    count = int(np.prod(batch))
    rows = []
    for a in arrays:
        item = a.shape[extra:]
        if all(d == 1 for d in a.shape[:extra]):  # not batched: one array for every call
            rows.append(np.broadcast_to(a.reshape(item), (count, *item)))
        else:  # batched (copied only where it is batched along some of several vmap axes)
            rows.append(np.broadcast_to(a, batch + item).reshape((count, *item)))
    results = [compute(*(r[i] for r in rows)) for i in range(count)]
    return tuple(
        np.stack([res[k] for res in results]).reshape(batch + results[0][k].shape)
        for k in range(len(results[0]))
    )


@functools.cache
def _custom(
    name: str, n_positional: int, array_keys: tuple[str, ...], static: tuple[tuple[str, Any], ...]
) -> Callable[..., Any]:
    """The ``custom_vjp`` of one loss for one set of static arguments.

    Its arguments: the first (differentiated) argument, the other positional ones, then the
    values of the array keyword arguments ``array_keys``.
    """
    fn = _bridges.loss_function(name)
    inputs = registry[name].inputs
    params = dict(static)
    reduction = params.get("reduction", inspect.signature(fn).parameters["reduction"].default)
    total = reduction in _TOTALS

    names = _names(fn, n_positional, array_keys)

    def call(kernel: Callable[..., Any], arrays: Sequence[np.ndarray]) -> Any:
        rest = arrays[1:n_positional]
        kwargs = dict(zip(array_keys, arrays[n_positional:], strict=True))
        return kernel(arrays[0], *rest, **kwargs, **params)

    def value_shape(pred: Any) -> tuple[int, ...]:
        if total:
            return ()
        return tuple(pred.shape[:-1]) if name in _ROWS else tuple(pred.shape)

    def fused(wanted: tuple[int, ...]) -> Callable[..., Any]:
        if len(inputs) == 1:  # the first argument's gradient, as a 1-tuple
            single = value_and_grad(fn)
            return lambda *a, **k: (lambda v, g: (v, (g,)))(*single(*a, **k))
        return value_and_grad(fn, argnums=wanted)

    def callback(wanted: tuple[int, ...], args: Sequence[Any]) -> Any:
        pred = args[0]
        dtype = np.dtype(pred.dtype)
        base = [np.ndim(a) for a in args]
        value_out = jax.ShapeDtypeStruct(value_shape(pred), dtype)
        kernel = fused(wanted) if wanted else fn

        def compute(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
            if wanted:
                value, grads = call(kernel, arrays)
                return (
                    np.asarray(value, dtype=dtype),
                    *(np.asarray(g, dtype=arrays[k].dtype) for g, k in zip(grads, wanted,
                                                                          strict=True)),
                )
            return (np.asarray(call(fn, arrays), dtype=dtype),)

        outs = (
            value_out,
            *(jax.ShapeDtypeStruct(args[k].shape, np.dtype(args[k].dtype)) for k in wanted),
        )
        return jax.pure_callback(
            lambda *a: _batched(compute, a, base), outs, *args, vmap_method="expand_dims"
        )

    @jax.custom_vjp
    def loss(*args: Any) -> Any:
        return callback((), args)[0]

    n_inputs = min(len(inputs), n_positional)

    def forward(*primals: Any) -> tuple[Any, Any]:
        for arg, primal in zip(names[n_inputs:], primals[n_inputs:], strict=True):
            if primal.perturbed:
                raise ParameterError(
                    f"{arg}: losscore.jax.{name} differentiates {', '.join(inputs)} only; wrap "
                    f"{arg} in jax.lax.stop_gradient"
                )
        wanted = tuple(k for k in range(n_inputs) if primals[k].perturbed)
        value, *grads = callback(wanted, [p.value for p in primals])
        # One residual per input: its gradient, or None where it is not differentiated.
        by_input = dict(zip(wanted, grads, strict=True))
        return value, tuple(by_input.get(k) for k in range(n_inputs))

    def backward(grads: Any, cotangent: Any) -> tuple[Any, ...]:
        if not total and name in _ROWS:
            cotangent = cotangent[..., None]
        chained = tuple(
            None if g is None else g * cotangent.astype(g.dtype) for g in grads
        )
        return (*chained, *([None] * (len(names) - n_inputs)))

    loss.defvjp(forward, backward, symbolic_zeros=True)
    return loss


def _names(fn: Callable[..., Any], n_positional: int, array_keys: tuple[str, ...]) -> list[str]:
    positional = [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    return [*positional[:n_positional], *array_keys]


def _bridge(name: str) -> Callable[..., jax.Array]:
    fn = _bridges.loss_function(name)
    sig = inspect.signature(fn)
    positional = [
        p.name for p in sig.parameters.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    first = positional[0]

    def loss(*args: Any, **kwargs: Any) -> jax.Array:
        if len(args) < len(positional):  # arguments given by name
            args = (*args, *(kwargs.pop(n) for n in positional[len(args) :] if n in kwargs))
        if not args:
            raise TypeError(f"{name}() missing required argument: '{first}'")
        if len(args) > len(positional):
            fn(*args, **kwargs)  # the NumPy function reports the extra arguments
        array_keys = tuple(k for k, v in kwargs.items() if _is_array(v) or isinstance(v, list))
        static = tuple((k, v) for k, v in kwargs.items() if k not in array_keys)
        names = [*positional[: len(args)], *array_keys]
        values = (*args, *(kwargs[k] for k in array_keys))
        arrays = [_jax_array(a, n) for a, n in zip(values, names, strict=True)]
        dtype = np.dtype(arrays[0].dtype)
        if dtype not in _FLOATS:
            raise DTypeError(f"{first}: expected a float32 or float64 array, got {dtype}")
        if not any(isinstance(a, jax.core.Tracer) for a in arrays):
            # Outside any transformation: the NumPy function directly, no callback.
            views = [np.asarray(a) for a in arrays]
            n = len(args)
            value = fn(*views[:n], **dict(zip(array_keys, views[n:], strict=True)), **dict(static))
            return jnp.asarray(value, dtype=dtype)
        _validate(name, fn, names, len(args), arrays, dict(static))
        return _custom(name, len(args), array_keys, static)(*arrays)

    loss.__name__ = loss.__qualname__ = name
    loss.__module__ = __name__
    loss.__signature__ = sig.replace(return_annotation=jax.Array)  # type: ignore[attr-defined]
    loss.__doc__ = _bridges.bridge_doc(
        fn,
        f"``losscore.{name}`` on JAX arrays, differentiable in ``{first}`` under ``jit``, "
        f"``grad`` and ``vmap``.\n\n"
        f"Arguments as :func:`losscore.{name}`; non-array arguments are static. Returns a 0-d "
        f"array of ``{first}``'s dtype for total reductions, the per-element (per-sample) "
        'losses for ``"none"``. The VJP is the fused closed-form gradient times the cotangent.',
    )
    return loss


def _validate(
    name: str,
    fn: Callable[..., Any],
    names: list[str],
    n_positional: int,
    arrays: list[Any],
    static: dict[str, Any],
) -> None:
    """Trace-time checks that raise the NumPy function's own errors: shapes and hyperparameters.

    The NumPy function runs on empty leading slices of the per-sample arguments (the positional
    ones and ``weight``) and on zeros shaped like the others, so no value is needed.
    """
    pred = arrays[0]
    if pred.ndim == 0:
        return
    if n_positional == 2:
        target = arrays[1]
        allowed = [tuple(pred.shape), tuple(pred.shape[:-1])] if name in _ROWS else [pred.shape]
        if tuple(np.shape(target)) not in allowed:
            raise ShapeError(
                f"{names[0]} and {names[1]} must have the same shape"
                + (f" (or {names[1]} {allowed[1]} of class indices)" if name in _ROWS else "")
                + f", got {names[0]} shape {tuple(pred.shape)} and {names[1]} shape "
                f"{tuple(np.shape(target))}"
            )
    if pred.ndim < (2 if name in _ROWS else 1):
        return  # no sample axis to slice (one row of a class loss): the callback checks
    probe = []
    for i, (arg, a) in enumerate(zip(names, arrays, strict=True)):
        if (i < n_positional or arg == "weight") and np.ndim(a) >= 1:
            if a.shape[0] != pred.shape[0]:
                raise ShapeError(
                    f"{arg}: shape {tuple(a.shape)} does not match {names[0]}'s shape "
                    f"{tuple(pred.shape)}"
                )
            probe.append(np.zeros((0, *a.shape[1:]), dtype=a.dtype))
        else:
            probe.append(np.zeros(np.shape(a), dtype=a.dtype))
    if any(np.ndim(a) == 0 for a in arrays[n_positional:]):
        return  # a traced scalar hyperparameter: its value is checked by the callback
    kwargs = dict(zip(names[n_positional:], probe[n_positional:], strict=True))
    fn(*probe[:n_positional], **kwargs, **static)


for _name in __all__:
    globals()[_name] = _bridge(_name)
del _name


def __getattr__(name: str) -> Callable[..., jax.Array]:
    """Only for type checkers, which cannot see the generated losses (all defined above)."""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
