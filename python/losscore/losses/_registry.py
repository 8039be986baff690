"""The one registry of losscore's losses: name -> :class:`LossSpec`.

Every loss wrapper is registered once, by decorating it with :func:`register`; everything that
needs to know about losses reads this registry: :func:`losscore.value_and_grad` and
:func:`losscore.grad` (the fused callable), :func:`losscore.fit` (loss names, class-index
targets), :func:`losscore.evaluate` and ``losscore eval`` (chunked kernels, parameter names, name
suggestions), and later integrations (Dask, framework bridges).

Typing
------
A registered loss is, at run time, exactly the wrapper function (no extra call layer). For type
checkers :func:`register` returns a :class:`Loss` ``[F, K]``: ``F`` is the wrapper's own
function type, so a call is checked against the wrapper's signature (``reductio="sum"`` or a
positional hyperparameter is an error, the result is the wrapper's return type), and ``K`` is the
parameter list of its ``_core`` kernel, which is the wrapper's list plus ``out=`` (and the
``with_grad``/``partials`` switches). :func:`losscore.value_and_grad` maps ``Loss[F, K]`` to
``Callable[K, tuple[LossValue, FloatArray]]``, so ``value_and_grad(mse)(p, t, out=buf)``
type-checks and ``value_and_grad(mse)(p, t, reductio="sum")`` does not, without the signature
being written a second time. (A ``ParamSpec`` alone cannot express "the wrapper's parameters
plus ``out``": PEP 612 allows no keyword parameters next to ``P.kwargs``.)
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError

__all__ = [
    "FloatArray",
    "Loss",
    "LossKind",
    "LossSpec",
    "LossValue",
    "Reduction",
    "fused_hess_of",
    "fused_of",
    "register",
    "registry",
    "resolve_loss",
]

#: A float32 or float64 array (losscore keeps the dtype of the first argument).
FloatArray: TypeAlias = npt.NDArray[np.float32] | npt.NDArray[np.float64]
#: A loss value: a float for ``reduction="mean"``/``"sum"``, an array for ``"none"``.
LossValue: TypeAlias = float | FloatArray
Reduction: TypeAlias = Literal["mean", "sum", "none"]
LossKind: TypeAlias = Literal["elementwise", "rows"]

F = TypeVar("F", bound=Callable[..., Any])
K = ParamSpec("K")


class Loss(Generic[F, K]):
    """The static type of a registered loss (see the module docstring); never instantiated.

    ``F`` is the wrapper's function type, ``K`` the parameters of its ``_core`` kernel.
    """

    __call__: F

    if TYPE_CHECKING:
        # Carries K; value_and_grad reads it back. Not present at run time.
        def _kernel(self, *args: K.args, **kwargs: K.kwargs) -> Any: ...


@dataclass(frozen=True, slots=True)
class LossSpec:
    """What losscore knows about one loss.

    Attributes
    ----------
    name : str
        The public name (``losscore.<name>``).
    function : callable
        The public wrapper.
    kind : {"elementwise", "rows"}
        ``"elementwise"``: one loss per element of ``first``'s shape; ``"rows"``: one loss per
        row of a class axis (the last axis).
    kernel : callable
        The ``_core`` entry point: ``kernel(first, target, *, <defaults>, weight=None, out=None,
        with_grad=False, partials=False)``.
    defaults : mapping
        The wrapper's keyword defaults: its hyperparameters and ``reduction`` (not ``weight``).
    first_arg : str
        The name of the first argument (``pred``, ``logits``, ``prob``, ...).
    class_target : bool
        The target may be integer class indices (one per row).
    arrays : tuple of str
        The positional array arguments, in order (``("pred", "target")``,
        ``("x1", "x2", "target")``, ...).
    inputs : tuple of str
        The arguments a gradient can be taken of (``argnums`` counts in this tuple): the first
        argument only, or every input of a loss of several inputs (``gaussian_nll``'s ``pred``,
        ``target`` and ``var``).
    grad, hess, chunked : bool
        Supported: the fused gradient, the Hessian diagonal, chunked evaluation
        (:func:`losscore.evaluate`).
    fused : callable
        ``value_and_grad(function)``.
    fused_hess : callable
        ``value_grad_hess(function)``.
    """

    name: str
    function: Callable[..., Any]
    kind: LossKind
    kernel: Callable[..., Any]
    defaults: Mapping[str, Any]
    first_arg: str
    class_target: bool
    arrays: tuple[str, ...]
    inputs: tuple[str, ...]
    grad: bool
    hess: bool
    chunked: bool
    fused: Callable[..., Any]
    fused_hess: Callable[..., Any]

    @property
    def multi_input(self) -> bool:
        """Whether the loss takes several differentiable inputs (``argnums`` applies)."""
        return len(self.inputs) > 1

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        """The loss's own keyword parameters (``delta``, ``class_weight``, ...)."""
        return tuple(k for k in self.defaults if k != "reduction")


_BY_NAME: dict[str, LossSpec] = {}
# Keyed by the wrapper function: value_and_grad's per-call lookup is one dict access.
_FUSED: dict[Callable[..., Any], Callable[..., Any]] = {}
_FUSED_HESS: dict[Callable[..., Any], Callable[..., Any]] = {}

#: name -> :class:`LossSpec` of every loss, in registration order (read-only).
registry: Mapping[str, LossSpec] = MappingProxyType(_BY_NAME)


def _make_fused(
    fn: Callable[..., Any], kernel: Callable[..., Any], hess: bool = False, argnums: bool = False
) -> Callable[..., Any]:
    """``value_and_grad(fn)`` (or with ``hess``, ``value_grad_hess(fn)``): ``fn``'s signature
    plus ``out=`` (and ``hess_out=``), calling the kernel with the wrapper's arguments
    positionally (the kernel takes the wrapper's parameters in the wrapper's order, then ``out``
    and ``with_grad``; keyword passing would cost ~45 ns an argument). With ``argnums`` (losses
    of several inputs) it also takes ``argnums=`` and passes it on."""
    params = list(inspect.signature(fn).parameters.values())
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    keywords = [p for p in params if p.kind is p.KEYWORD_ONLY]
    namespace: dict[str, Any] = {"_kernel": kernel}
    for p in keywords:
        namespace[f"_default_{p.name}"] = p.default
    extra = ["out=None", "hess_out=None"] if hess else ["out=None"]
    if argnums and not hess:
        extra.append("argnums=0")
    signature = ", ".join(
        [*positional, "*", *(f"{p.name}=_default_{p.name}" for p in keywords), *extra]
    )
    switches = ["out", "True", "with_hess=True", "hess_out=hess_out"] if hess else ["out", "True"]
    if argnums and not hess:
        switches.append("argnums=argnums")
    arguments = ", ".join([*positional, *(p.name for p in keywords), *switches])
    # The generated code is this module's own text over the wrapper's parameter names.
    exec(f"def {fn.__name__}({signature}):\n    return _kernel({arguments})\n", namespace)
    fused: Callable[..., Any] = functools.wraps(fn)(namespace[fn.__name__])
    outs = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None)
            for n in (["out", "hess_out"] if hess else ["out"])]
    if argnums and not hess:
        outs.append(inspect.Parameter("argnums", inspect.Parameter.KEYWORD_ONLY, default=0))
    fused.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*params, *outs], return_annotation=inspect.signature(fn).return_annotation
    )
    fused.__name__ = f"{'value_grad_hess' if hess else 'value_and_grad'}({fn.__name__})"
    fused.__qualname__ = fused.__name__
    return fused


def register(
    kernel: Callable[K, Any],
    *,
    kind: LossKind,
    class_target: bool = False,
    inputs: tuple[str, ...] | None = None,
    hess: bool = True,
) -> Callable[[F], Loss[F, K]]:
    """Decorator registering a loss wrapper with its ``_core`` kernel.

    The wrapper is returned unchanged; its signature (keyword-only hyperparameters with
    defaults, then ``weight=None`` and ``reduction``) is read once, here.

    Parameters
    ----------
    kernel : callable
        The ``_core`` function computing the loss (and, with ``with_grad=True``, its gradient).
    kind : {"elementwise", "rows"}
        Element-wise losses are evaluated chunk by chunk by :func:`losscore.evaluate`.
    class_target : bool
        Integer targets are class indices (``fit`` keeps them as integers).
    inputs : tuple of str, optional
        For a loss of several inputs: the names of its differentiable array arguments, which
        come first (``("x1", "x2")`` of ``margin_ranking(x1, x2, target)``). By default the
        first argument only, followed by ``target``.
    hess : bool, default True
        Whether the kernel computes the Hessian diagonal (``with_hess=True``).

    Examples
    --------
    >>> from losscore.losses import registry
    >>> spec = registry["huber"]
    >>> spec.kind, spec.first_arg, dict(spec.defaults)
    ('elementwise', 'pred', {'delta': 1.0, 'reduction': 'mean'})
    """
    if kind not in ("elementwise", "rows"):
        raise ParameterError(f"kind: expected 'elementwise' or 'rows', got {kind!r}")

    def decorate(fn: F) -> Loss[F, K]:
        name = fn.__name__
        if name in _BY_NAME:
            raise ParameterError(f"loss {name!r} is registered twice")
        params = list(inspect.signature(fn).parameters.values())
        arrays = _check_convention(name, params, inputs)
        defaults = {
            p.name: p.default
            for p in params
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "weight"
        }
        several = inputs is not None and len(inputs) > 1
        fused = _make_fused(fn, kernel, argnums=several)
        fused_hess = _make_fused(fn, kernel, hess=True)
        _BY_NAME[name] = LossSpec(
            name=name,
            function=fn,
            kind=kind,
            kernel=kernel,
            defaults=MappingProxyType(defaults),
            first_arg=params[0].name,
            class_target=class_target,
            arrays=arrays,
            inputs=inputs if inputs is not None else arrays[:1],
            grad=True,
            hess=hess,
            chunked=True,  # every loss streams through losscore.Accumulator
            fused=fused,
            fused_hess=fused_hess,
        )
        _FUSED[fn] = fused
        if hess:
            _FUSED_HESS[fn] = fused_hess
        return fn  # type: ignore[return-value]  # Loss[F, K] is the static view of fn

    return decorate


def _check_convention(
    name: str, params: list[inspect.Parameter], inputs: tuple[str, ...] | None
) -> tuple[str, ...]:
    """``(first, target, *, <hyperparameters>, weight=None, reduction=...)``, as the kernels
    (a loss of several inputs: ``(*inputs, [target,] *, ...)``); returns the array arguments."""
    kinds = [p.kind for p in params]
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    arrays = tuple(p.name for p in params if p.kind is positional)
    keyword = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    expected = (
        [(*arrays[:1], "target")]
        if inputs is None
        else [tuple(inputs), (*inputs, "target")]
    )
    if (
        arrays not in expected
        or kinds[: len(arrays)] != [positional] * len(arrays)
        or any(k not in (positional, inspect.Parameter.KEYWORD_ONLY) for k in kinds)
        or keyword[-2:] != ["weight", "reduction"]
    ):
        raise ParameterError(
            f"{name}: a loss wrapper takes (first, target, *, <hyperparameters>, weight=None, "
            f"reduction=...) or (*inputs, [target,] *, ...), got "
            f"({', '.join(str(p) for p in params)})"
        )
    return arrays


def fused_of(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The fused value-and-gradient callable of a registered loss (TypeError otherwise)."""
    try:
        return _FUSED[fn]
    except (KeyError, TypeError):
        name = getattr(fn, "__name__", repr(fn))
        raise TypeError(
            f"{name} has no registered closed-form gradient; "
            "pass a losscore loss such as losscore.mse"
        ) from None


def fused_hess_of(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The fused value, gradient and Hessian-diagonal callable of a registered loss."""
    try:
        return _FUSED_HESS[fn]
    except (KeyError, TypeError):
        name = getattr(fn, "__name__", repr(fn))
        if fn in _FUSED:
            raise TypeError(
                f"{name} computes no Hessian diagonal (it compares vectors along the last "
                "axis); its gradient is losscore.value_and_grad"
            ) from None
        raise TypeError(
            f"{name} has no registered closed-form Hessian; "
            "pass a losscore loss such as losscore.huber"
        ) from None


def _unknown(loss: object, names: list[str]) -> ParameterError:
    close = difflib.get_close_matches(str(loss), names, n=3) if isinstance(loss, str) else []
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    return ParameterError(f"loss: unknown loss {loss!r}{hint}; known: {', '.join(names)}")


def resolve_loss(loss: str | Callable[..., Any], *, chunked: bool = False) -> LossSpec:
    """The :class:`LossSpec` of a loss given by name or as the function itself.

    Parameters
    ----------
    loss : str or callable
        ``"mse"`` or ``losscore.mse``.
    chunked : bool
        Require a loss that chunked evaluation supports (element-wise).

    Raises
    ------
    losscore.errors.ParameterError
        Unknown loss (the message lists the known ones and suggests close names), or a loss
        chunked evaluation does not support when ``chunked=True``.

    Examples
    --------
    >>> from losscore.losses import resolve_loss
    >>> resolve_loss("cross_entropy").class_target
    True
    >>> resolve_loss("hubr")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    losscore.errors.ParameterError: loss: unknown loss 'hubr' (did you mean 'huber'?); known: ...
    """
    spec = _BY_NAME.get(loss) if isinstance(loss, str) else None
    if spec is None and not isinstance(loss, str):
        name = getattr(loss, "__name__", None)
        candidate = _BY_NAME.get(name) if isinstance(name, str) else None
        spec = candidate if candidate is not None and candidate.function is loss else None
    if spec is None:
        names = sorted(n for n, s in _BY_NAME.items() if s.chunked or not chunked)
        raise _unknown(loss, names)
    if chunked and not spec.chunked:
        raise ParameterError(
            f"loss: {spec.name} reduces over a class axis and is not supported by chunked "
            "evaluation yet; call it in memory"
        )
    return spec
