"""Learning-rate schedulers with ``torch.optim.lr_scheduler`` semantics, over every group.

A scheduler sets ``group["lr"]`` of every parameter group (and, for :class:`OneCycleLR` and
:class:`CyclicLR`, the momentum or beta1); call ``scheduler.step()`` after
``optimizer.step()``, once per epoch (or per batch for :class:`OneCycleLR` / :class:`CyclicLR`).
:meth:`~LRScheduler.get_last_lr` returns one lr per group.

As in PyTorch, the first scheduler built on an optimizer stores each group's ``initial_lr``;
every scheduler starts from those (``base_lrs``), so schedulers composed on one optimizer share
the same base. Each :meth:`~LRScheduler.step` updates the current lr from the previous one (the
"chainable" form), so two schedulers stepped together multiply their factors (e.g. a
:class:`LinearLR` warmup times a :class:`CosineAnnealingLR`); use :class:`SequentialLR` to run
one after the other. ``step(epoch)`` sets ``last_epoch`` and uses the closed form where one
exists. ``last_epoch=k`` resumes a schedule after epoch ``k`` (the groups must then hold
``initial_lr``, e.g. from a loaded optimizer state dict).

An optimizer built without parameters (``fit`` binds them later) has no groups yet; a scheduler
then acts on its defaults, which the groups inherit when bound.

>>> import numpy as np
>>> from losscore.optim import SGD
>>> from losscore.optim.lr_scheduler import StepLR
>>> opt = SGD([np.zeros(2)], lr=1.0)
>>> sched = StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(sched.get_last_lr()[0])
...     opt.step([np.zeros(2)])
...     sched.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import bisect
import itertools
import math
import numbers
import types
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from ..errors import ParameterError, ParameterTypeError

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


# ---- argument checks ----------------------------------------------------------------------


def _check_optimizer(optimizer: Any) -> None:
    if not hasattr(optimizer, "param_groups") or not hasattr(optimizer, "defaults"):
        raise ParameterTypeError(
            f"optimizer: expected a losscore optimizer (param_groups, defaults), got "
            f"{type(optimizer).__name__}"
        )


def _groups(optimizer: Any) -> list[dict[str, Any]]:
    """The optimizer's groups; before parameters are bound, its defaults stand for them."""
    groups: list[dict[str, Any]] = optimizer.param_groups
    return groups if groups else [optimizer.defaults]


def _number(name: str, value: Any, finite: bool = True) -> float:
    """A real number (bools and strings are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterTypeError(f"{name}: expected a number, got {value!r}")
    v = float(value)
    if finite and not math.isfinite(v):
        raise ParameterError(f"{name}: expected a finite number, got {value!r}")
    return v


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterTypeError(f"{name}: expected an int, got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return value


def _per_group(name: str, value: Any, n: int) -> list[float]:
    """A number for every group, or one list entry per group (torch's ``_format_param``)."""
    if isinstance(value, list | tuple):
        if len(value) != n:
            raise ParameterError(
                f"{name}: expected {n} values (one per parameter group), got {len(value)}"
            )
        return [_number(f"{name}[{i}]", v) for i, v in enumerate(value)]
    return [_number(name, value)] * n


def _lambdas(name: str, value: Any, n: int) -> list[Callable[[int], float]]:
    fns = list(value) if isinstance(value, list | tuple) else [value] * n
    if len(fns) != n:
        raise ParameterError(
            f"{name}: expected {n} functions (one per parameter group), got {len(fns)}"
        )
    for i, fn in enumerate(fns):
        if not callable(fn):
            raise ParameterTypeError(f"{name}[{i}]: expected a function, got {fn!r}")
    return fns


def _copy(v: Any) -> Any:
    if isinstance(v, Counter):
        return Counter(v)
    if isinstance(v, list):
        return [_copy(x) for x in v]
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    return v


def _set_momentum(group: dict[str, Any], use_beta1: bool, momentum: float) -> None:
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _momentum_kind(optimizer: Any) -> bool:
    """True when the optimizer cycles ``betas[0]``, False for ``momentum``."""
    defaults = optimizer.defaults
    if "betas" in defaults:
        return True
    if "momentum" in defaults:
        return False
    raise ParameterError(
        "cycle_momentum: the optimizer has neither momentum nor betas; pass cycle_momentum=False"
    )


# ---- the base class -----------------------------------------------------------------------


class LRScheduler:
    """Base of the schedulers: ``last_epoch`` counts :meth:`step` calls.

    Construction performs the initial step (the lr of epoch ``last_epoch + 1``, 0 by default).
    A subclass gives :meth:`get_lr` (the chainable form, from the groups' current lr) and,
    where one exists, ``_get_closed_form_lr`` (from ``base_lrs``; used by ``step(epoch)``).
    """

    #: Attributes holding one entry per group (repeated when an optimizer built without
    #: parameters gets its groups).
    _PER_GROUP: ClassVar[tuple[str, ...]] = ("base_lrs", "_last_lr")
    #: Attributes left out of :meth:`state_dict` (functions are saved by their ``__dict__``).
    _FUNCTIONS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        last_epoch = _int("last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        groups = _groups(optimizer)
        if last_epoch == -1:
            for group in groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise ParameterError(
                        f"last_epoch: resuming at epoch {last_epoch} needs 'initial_lr' in "
                        f"param_groups[{i}] (load the optimizer's state dict first)"
                    )
        self.base_lrs: list[float] = [float(g["initial_lr"]) for g in groups]
        self._last_lr: list[float] = [float(g["lr"]) for g in groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The lr of every group for epoch ``last_epoch`` (chainable form)."""
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or go to ``epoch``, closed form) and set every group's lr."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        groups = self._sync_groups()
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = _int("epoch", epoch, 0)
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def _sync_groups(self) -> list[dict[str, Any]]:
        """The groups; when the optimizer got its parameters after this scheduler was built on
        its defaults, every per-group attribute is repeated for each new group."""
        groups = _groups(self.optimizer)
        have = len(self.base_lrs)
        if have != len(groups):
            if have != 1:
                raise ParameterError(
                    f"optimizer: has {len(groups)} parameter groups, the scheduler was built "
                    f"for {have}"
                )
            for name in self._PER_GROUP:
                setattr(self, name, list(getattr(self, name)) * len(groups))
        return groups

    def get_last_lr(self) -> list[float]:
        """The lr of every group set by the last :meth:`step`."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (lambdas: their ``__dict__`` when they are callable
        objects, else None, as PyTorch)."""
        out = {
            k: _copy(v)
            for k, v in self.__dict__.items()
            if k != "optimizer" and k not in self._FUNCTIONS
        }
        for name in self._FUNCTIONS:
            fns = getattr(self, name)
            out[name] = [
                None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                for fn in (fns if isinstance(fns, list) else [fns])
            ]
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (the optimizer's lr is not changed)."""
        if not isinstance(state_dict, dict):
            raise ParameterTypeError(
                f"state_dict: expected a dict, got {type(state_dict).__name__}"
            )
        unknown = set(state_dict) - set(self.__dict__)
        if unknown or "optimizer" in state_dict:
            raise ParameterError(
                f"state_dict: unexpected keys {sorted(unknown | ({'optimizer'} & set(state_dict)))}"
                f" for {type(self).__name__}"
            )
        saved = dict(state_dict)
        functions = {name: saved.pop(name, None) for name in self._FUNCTIONS}
        self.__dict__.update({k: _copy(v) for k, v in saved.items()})
        for name, states in functions.items():
            fns = getattr(self, name)
            for fn, st in zip(fns if isinstance(fns, list) else [fns], states or [], strict=False):
                if st is not None:
                    vars(fn).update(st)


# ---- multiplicative schedules --------------------------------------------------------------


class LambdaLR(LRScheduler):
    """``lr = initial_lr * lr_lambda(epoch)`` for every group (one function, or one per group).

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import LambdaLR
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = LambdaLR(opt, lambda epoch: min(1.0, (epoch + 1) / 4))  # linear warmup
    >>> [sched.get_last_lr()[0] for _ in range(5) if sched.step() is None]
    [0.5, 0.75, 1.0, 1.0, 1.0]
    """

    _PER_GROUP = ("base_lrs", "_last_lr", "lr_lambdas")
    _FUNCTIONS = ("lr_lambdas",)

    def __init__(
        self,
        optimizer: Any,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        self.lr_lambdas = _lambdas("lr_lambda", lr_lambda, len(_groups(optimizer)))
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            base * fn(self.last_epoch)
            for fn, base in zip(self.lr_lambdas, self.base_lrs, strict=True)
        ]


class MultiplicativeLR(LRScheduler):
    """``lr = lr * lr_lambda(epoch)`` at every step after the first.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import MultiplicativeLR
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = MultiplicativeLR(opt, lambda epoch: 0.5)
    >>> sched.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    _PER_GROUP = ("base_lrs", "_last_lr", "lr_lambdas")
    _FUNCTIONS = ("lr_lambdas",)

    def __init__(
        self,
        optimizer: Any,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        self.lr_lambdas = _lambdas("lr_lambda", lr_lambda, len(_groups(optimizer)))
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = _groups(self.optimizer)
        if self._is_initial:
            return [g["lr"] for g in groups]
        return [
            g["lr"] * fn(self.last_epoch) for fn, g in zip(self.lr_lambdas, groups, strict=True)
        ]


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs.

    ``lr_epoch = initial_lr * gamma ** (epoch // step_size)``.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import StepLR
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.1)
    >>> for _ in range(4):
    ...     sched.step()
    >>> round(opt.lr, 12)
    0.01
    """

    def __init__(
        self, optimizer: Any, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.step_size = _int("step_size", step_size, 1)
        self.gamma = _number("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = _groups(self.optimizer)
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone epoch.

    ``lr_epoch = initial_lr * gamma ** (number of milestones <= epoch)``.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import MultiStepLR
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    >>> for _ in range(4):
    ...     sched.step()
    >>> opt.lr
    0.25
    """

    def __init__(
        self,
        optimizer: Any,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        ms = list(milestones)
        for i, m in enumerate(ms):
            _int(f"milestones[{i}]", m, 0)
        self.milestones = Counter(ms)
        self.gamma = _number("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = _groups(self.optimizer)
        if self.last_epoch not in self.milestones:
            return [g["lr"] for g in groups]
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [g["lr"] * factor for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        passed = bisect.bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [b * self.gamma**passed for b in self.base_lrs]


class ConstantLR(LRScheduler):
    """Multiply the lr by ``factor`` until epoch ``total_iters``, then restore it.

    ``lr_epoch = initial_lr * (factor if epoch < total_iters else 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import ConstantLR
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = ConstantLR(opt, factor=0.5, total_iters=2)
    >>> lrs = [sched.get_last_lr()[0] for _ in range(4) if sched.step() is None]
    >>> [sched.get_last_lr()[0]] + lrs[:-1]
    [1.0, 0.5, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Any,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        factor = _number("factor", factor)
        if not 0 <= factor <= 1:
            raise ParameterError(f"factor: must be in [0, 1], got {factor}")
        self.factor = factor
        self.total_iters = _int("total_iters", total_iters, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = _groups(self.optimizer)
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in groups]
        if self.last_epoch != self.total_iters:
            return [g["lr"] for g in groups]
        return [g["lr"] * (1.0 / self.factor) for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        on = self.last_epoch >= self.total_iters
        return [b * (self.factor + on * (1 - self.factor)) for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the lr linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs.

    ``lr_epoch = initial_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)``.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import LinearLR
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> sched.get_last_lr()
    [0.5]
    >>> sched.step()
    >>> sched.get_last_lr()
    [0.75]
    """

    def __init__(
        self,
        optimizer: Any,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        start_factor = _number("start_factor", start_factor)
        end_factor = _number("end_factor", end_factor)
        if not 0 < start_factor <= 1:
            raise ParameterError(f"start_factor: must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ParameterError(f"end_factor: must be in [0, 1], got {end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = _int("total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = _groups(self.optimizer)
        e, s, f, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if e == 0:
            return [g["lr"] * s for g in groups]
        if self._is_initial or e > n:
            return [g["lr"] for g in groups]
        ratio = 1.0 + (f - s) / (n * s + (e - 1) * (f - s))
        return [g["lr"] * ratio for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        s, f, n = self.start_factor, self.end_factor, self.total_iters
        return [b * (s + (f - s) * min(n, self.last_epoch) / n) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch: ``lr_epoch = initial_lr * gamma ** epoch``.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import ExponentialLR
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = ExponentialLR(opt, gamma=0.5)
    >>> for _ in range(3):
    ...     sched.step()
    >>> opt.lr
    0.125
    """

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _number("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = _groups(self.optimizer)
        if self._is_initial:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [b * self.gamma**self.last_epoch for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the lr polynomially to 0 over ``total_iters`` epochs.

    ``lr_epoch = initial_lr * (1 - min(epoch, total_iters) / total_iters) ** power``.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import PolynomialLR
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = PolynomialLR(opt, total_iters=4, power=2.0)
    >>> sched.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(
        self, optimizer: Any, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1
    ) -> None:
        self.total_iters = _int("total_iters", total_iters, 1)
        self.power = _number("power", power)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = _groups(self.optimizer)
        e, n = self.last_epoch, self.total_iters
        if self._is_initial or e > n:
            return [g["lr"] for g in groups]
        factor = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [g["lr"] * factor for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        n = self.total_iters
        return [b * (1.0 - min(n, self.last_epoch) / n) ** self.power for b in self.base_lrs]


# ---- cosine schedules ----------------------------------------------------------------------


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from ``initial_lr`` to ``eta_min`` over ``T_max`` epochs (SGDR without
    restarts; past ``T_max`` the cosine continues, as in PyTorch).

    ``lr_epoch = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``
    (closed form; each step applies the chainable ratio of consecutive values).

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import CosineAnnealingLR
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = CosineAnnealingLR(opt, T_max=4)
    >>> for _ in range(2):
    ...     sched.step()
    >>> round(opt.lr, 12)
    0.5
    """

    def __init__(
        self, optimizer: Any, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        self.T_max = _int("T_max", T_max, 1)
        self.eta_min = _number("eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = _groups(self.optimizer)
        e, t, eta = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [g["lr"] for g in groups]
        if self._step_count == 1 and e > 0:
            # Resumed (last_epoch given): the closed form, there is no previous lr to chain.
            return [eta + (b - eta) * (1 + math.cos(e * math.pi / t)) / 2 for b in self.base_lrs]
        if (e - 1 - t) % (2 * t) == 0:
            return [
                g["lr"] + (b - eta) * (1 - math.cos(math.pi / t)) / 2
                for b, g in zip(self.base_lrs, groups, strict=True)
            ]
        ratio = (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t))
        return [ratio * (g["lr"] - eta) + eta for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        e, t, eta = self.last_epoch, self.T_max, self.eta_min
        return [eta + (b - eta) * (1 + math.cos(math.pi * e / t)) / 2 for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR): period ``T_0``, multiplied by ``T_mult``
    after each restart.

    ``lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``, with ``T_cur``
    the epochs since the last restart and ``T_i`` the current period. ``step(epoch)`` accepts
    fractional epochs (per-batch use: ``step(epoch + batch / n_batches)``).

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import CosineAnnealingWarmRestarts
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = CosineAnnealingWarmRestarts(opt, T_0=2)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     sched.step(); lrs.append(round(sched.get_last_lr()[0], 12))
    >>> lrs  # restarts every 2 epochs
    [1.0, 0.5, 1.0, 0.5]
    """

    def __init__(
        self,
        optimizer: Any,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.T_0 = _int("T_0", T_0, 1)
        self.T_i: float = self.T_0
        self.T_mult = _int("T_mult", T_mult, 1)
        self.eta_min = _number("eta_min", eta_min)
        self.T_cur: float = _int("last_epoch", last_epoch, -1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        eta = self.eta_min
        c = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [eta + (b - eta) * c for b in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:  # type: ignore[override]
        """Advance one epoch, or go to ``epoch`` (may be fractional)."""
        self._step_count += 1
        groups = self._sync_groups()
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            epoch = _number("epoch", epoch)
            if epoch < 0:
                raise ParameterError(f"epoch: expected a non-negative epoch, got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    m = self.T_mult
                    n = int(math.log(epoch / self.T_0 * (m - 1) + 1, m))
                    self.T_cur = epoch - self.T_0 * (m**n - 1) / (m - 1)
                    self.T_i = self.T_0 * m**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [g["lr"] for g in groups]


# ---- cyclic schedules ----------------------------------------------------------------------


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith, 2017), stepped per batch: the lr goes from ``base_lr``
    up to ``max_lr`` over ``step_size_up`` steps and back over ``step_size_down``.

    With ``cycle = floor(1 + t / (up + down))``, ``x = 1 + t / (up + down) - cycle`` and
    ``s = x / r`` if ``x <= r`` else ``(x - 1) / (r - 1)`` (``r = up / (up + down)``)::

        lr = base_lr + (max_lr - base_lr) * s * scale

    ``scale`` is 1 (``"triangular"``), ``1 / 2**(cycle - 1)`` (``"triangular2"``),
    ``gamma**t`` (``"exp_range"``) or ``scale_fn(cycle or t)`` (``scale_mode``). With
    ``cycle_momentum`` the momentum (or beta1) moves inversely, from ``max_momentum`` down to
    ``base_momentum``.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import CyclicLR
    >>> opt = SGD([np.zeros(1)], lr=0.1, momentum=0.9)
    >>> sched = CyclicLR(opt, base_lr=0.1, max_lr=1.0, step_size_up=2)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     sched.step(); lrs.append(round(sched.get_last_lr()[0], 12))
    >>> lrs
    [0.1, 0.55, 1.0, 0.55, 0.1]
    """

    _PER_GROUP = ("base_lrs", "_last_lr", "max_lrs", "base_momentums", "max_momentums")
    _FUNCTIONS = ("_scale_fn_custom",)

    def __init__(
        self,
        optimizer: Any,
        base_lr: float | Sequence[float],
        max_lr: float | Sequence[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.8,
        max_momentum: float | Sequence[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        groups = _groups(optimizer)
        n = len(groups)
        base_lrs = _per_group("base_lr", base_lr, n)
        last_epoch = _int("last_epoch", last_epoch, -1)
        self.max_lrs = _per_group("max_lr", max_lr, n)
        up = float(_int("step_size_up", step_size_up, 1))
        down = up if step_size_down is None else float(_int("step_size_down", step_size_down, 1))
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ParameterError(
                f"mode: expected 'triangular', 'triangular2' or 'exp_range' (or give scale_fn), "
                f"got {mode!r}"
            )
        if scale_mode not in ("cycle", "iterations"):
            raise ParameterError(
                f"scale_mode: expected 'cycle' or 'iterations', got {scale_mode!r}"
            )
        if scale_fn is not None and not callable(scale_fn):
            raise ParameterTypeError(f"scale_fn: expected a function, got {scale_fn!r}")
        if not isinstance(cycle_momentum, bool):
            raise ParameterTypeError(f"cycle_momentum: expected a bool, got {cycle_momentum!r}")
        self.mode = mode
        self.gamma = _number("gamma", gamma)
        self._scale_fn_custom = scale_fn
        self.scale_mode = (
            scale_mode
            if scale_fn is not None
            else ("iterations" if mode == "exp_range" else "cycle")
        )
        self.cycle_momentum = cycle_momentum
        self.base_momentums: list[float] = []
        self.max_momentums: list[float] = []
        if last_epoch == -1:
            for lr, group in zip(base_lrs, groups, strict=True):
                group["lr"] = lr
        if cycle_momentum:
            self.use_beta1 = _momentum_kind(optimizer)
            self.base_momentums = _per_group("base_momentum", base_momentum, n)
            self.max_momentums = _per_group("max_momentum", max_momentum, n)
            if last_epoch == -1:
                for m, b, group in zip(
                    self.max_momentums, self.base_momentums, groups, strict=True
                ):
                    _set_momentum(group, self.use_beta1, m)
                    group["max_momentum"] = m
                    group["base_momentum"] = b
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at cycle (or step) ``x``."""
        if self._scale_fn_custom is not None:
            return float(self._scale_fn_custom(x))
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        s = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [b + (m - b) * s * scale for b, m in zip(self.base_lrs, self.max_lrs, strict=True)]
        if self.cycle_momentum:
            groups = _groups(self.optimizer)
            for group, b, m in zip(groups, self.base_momentums, self.max_momentums, strict=True):
                _set_momentum(group, self.use_beta1, m - (m - b) * s * scale)
        return lrs


class OneCycleLR(LRScheduler):
    """The 1cycle policy (per batch): lr from ``max_lr / div_factor`` up to ``max_lr`` over the
    first ``pct_start`` of ``total_steps``, then down to ``initial_lr / final_div_factor``
    (``three_phase``: up, back to the initial lr, then down). With ``cycle_momentum`` the
    momentum (or beta1) moves inversely between ``max_momentum`` and ``base_momentum``. Every
    group keeps its own ``initial_lr``, ``max_lr`` and ``min_lr`` (``max_lr`` may be a list).

    ``anneal_strategy="cos"``: ``end + (start - end) / 2 * (1 + cos(pi * pct))``;
    ``"linear"``: ``start + (end - start) * pct``, ``pct`` the fraction of the current phase.
    The lr is kept non-negative (linear annealing past the last step would go below 0).

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import OneCycleLR
    >>> opt = SGD([np.zeros(1)], lr=1.0, momentum=0.9)
    >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=10)
    >>> round(opt.lr, 12), opt.momentum  # starts at max_lr / div_factor, max_momentum
    (0.04, 0.95)
    """

    _PER_GROUP = ("base_lrs", "_last_lr")

    def __init__(
        self,
        optimizer: Any,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        groups = _groups(optimizer)
        n_groups = len(groups)
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ParameterError(
                    "total_steps: give total_steps, or both epochs and steps_per_epoch"
                )
            total_steps = _int("epochs", epochs, 1) * _int("steps_per_epoch", steps_per_epoch, 1)
        self.total_steps = _int("total_steps", total_steps, 1)
        pct = _number("pct_start", pct_start)
        if not 0 <= pct <= 1:
            raise ParameterError(f"pct_start: must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ParameterError(
                f"anneal_strategy: expected 'cos' or 'linear', got {anneal_strategy!r}"
            )
        if not isinstance(cycle_momentum, bool):
            raise ParameterTypeError(f"cycle_momentum: expected a bool, got {cycle_momentum!r}")
        self.anneal_strategy = anneal_strategy
        div = _number("div_factor", div_factor)
        final_div = _number("final_div_factor", final_div_factor)
        n = float(self.total_steps)
        if three_phase:
            self._phases = [
                (pct * n - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (2 * pct * n - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (pct * n - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        ends = [0.0] + [phase[0] for phase in self._phases]
        if any(b == a for a, b in itertools.pairwise(ends)):
            # A phase of zero steps has no slope to follow (torch divides by zero here).
            raise ParameterError(
                f"pct_start: {pct_start} of total_steps={self.total_steps} leaves a phase of "
                "zero steps; use a larger total_steps or another pct_start"
            )
        max_lrs = _per_group("max_lr", max_lr, n_groups)
        last_epoch = _int("last_epoch", last_epoch, -1)
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_kind(optimizer)
            maxm = _per_group("max_momentum", max_momentum, n_groups)
            basem = _per_group("base_momentum", base_momentum, n_groups)
        if last_epoch == -1:
            for i, group in enumerate(groups):
                group["initial_lr"] = max_lrs[i] / div
                group["max_lr"] = max_lrs[i]
                group["min_lr"] = group["initial_lr"] / final_div
                if cycle_momentum:
                    _set_momentum(group, self.use_beta1, maxm[i])
                    group["max_momentum"] = maxm[i]
                    group["base_momentum"] = basem[i]
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ParameterError(
                f"OneCycleLR: tried to step {step} times, but total_steps is {self.total_steps}"
            )
        lrs = []
        for group in _groups(self.optimizer):
            start_step = 0.0
            for i, (end_step, lr0, lr1, m0, m1) in enumerate(self._phases):
                if step <= end_step or i == len(self._phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(max(self._anneal(group[lr0], group[lr1], pct), 0.0))
                    if self.cycle_momentum:
                        m = self._anneal(group[m0], group[m1], pct)
                        _set_momentum(group, self.use_beta1, m)
                    break
                start_step = end_step
        return lrs


# ---- composition ---------------------------------------------------------------------------


def _check_children(name: str, optimizer: Any, schedulers: Sequence[Any]) -> list[Any]:
    schedulers = list(schedulers)
    if not schedulers:
        raise ParameterError(f"{name}: expected at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        if isinstance(s, ReduceLROnPlateau):
            raise ParameterError(
                f"{name}[{i}]: ReduceLROnPlateau needs a metric at each step and cannot be composed"
            )
        if not isinstance(s, LRScheduler):
            raise ParameterTypeError(f"{name}[{i}]: expected a scheduler, got {s!r}")
        if s.optimizer is not optimizer:
            raise ParameterError(
                f"{name}[{i}]: acts on another optimizer; all schedulers must share one"
            )
    return schedulers


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the ``milestones`` epochs.

    Each scheduler restarts from its own epoch 0 at its milestone (its closed form at epoch 0),
    e.g. a :class:`LinearLR` warmup followed by :class:`CosineAnnealingLR` peaks at the base lr.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim import lr_scheduler as S
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> warmup = S.LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> cosine = S.CosineAnnealingLR(opt, T_max=4)
    >>> sched = S.SequentialLR(opt, [warmup, cosine], milestones=[3])
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(5):
    ...     sched.step(); lrs.append(round(sched.get_last_lr()[0], 12))
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 0.853553390593, 0.5]
    """

    _PER_GROUP = ("_last_lr",)

    def __init__(
        self,
        optimizer: Any,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        schedulers = _check_children("schedulers", optimizer, schedulers)
        milestones = list(milestones)
        for i, m in enumerate(milestones):
            _int(f"milestones[{i}]", m, 0)
        if len(milestones) != len(schedulers) - 1:
            raise ParameterError(
                f"milestones: expected {len(schedulers) - 1} (one fewer than schedulers), "
                f"got {len(milestones)}"
            )
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = _int("last_epoch", last_epoch, -1) + 1
        self.optimizer = optimizer
        groups = _groups(optimizer)
        # Undo the children's initial steps: start from the initial lr ...
        for group in groups:
            group["lr"] = group["initial_lr"]
        self._undo(self)
        # ... and perform the first scheduler's initial step only.
        first = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @property
    def base_lrs(self) -> list[float]:  # type: ignore[override]
        return self._schedulers[0].base_lrs

    def _undo(self, sched: Any) -> None:
        children = getattr(sched, "_schedulers", None)
        if children is not None:
            for child in children:
                self._undo(child)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Advance one epoch in the scheduler whose turn it is."""
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        out = {
            k: _copy(v) for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")
        }
        out["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = dict(state_dict)
        children = saved.pop("_schedulers", None)
        if not isinstance(children, list) or len(children) != len(self._schedulers):
            raise ParameterError(
                f"state_dict: expected '_schedulers' with {len(self._schedulers)} entries"
            )
        unknown = set(saved) - set(self.__dict__)
        if unknown:
            raise ParameterError(f"state_dict: unexpected keys {sorted(unknown)}")
        self.__dict__.update({k: _copy(v) for k, v in saved.items()})
        for s, sd in zip(self._schedulers, children, strict=True):
            s.load_state_dict(sd)


class ChainedScheduler(SequentialLR):
    """Step every scheduler of ``schedulers`` at each :meth:`step` (their factors multiply).

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim import lr_scheduler as S
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=2),
    ...                             S.ExponentialLR(opt, gamma=0.5)])
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.5, 0.25, 0.25, 0.125]
    """

    def __init__(  # no initial step: the children made theirs
        self, schedulers: Sequence[LRScheduler], optimizer: Any = None
    ) -> None:
        schedulers = list(schedulers)
        if not schedulers:
            raise ParameterError("schedulers: expected at least one scheduler, got none")
        optimizer = schedulers[0].optimizer if optimizer is None else optimizer
        _check_optimizer(optimizer)
        self._schedulers = _check_children("schedulers", optimizer, schedulers)
        self.optimizer = optimizer
        self._last_lr = [g["lr"] for g in _groups(optimizer)]

    def step(self) -> None:  # type: ignore[override]
        """Step every scheduler, in order."""
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in _groups(self.optimizer)]


# ---- metric-driven -------------------------------------------------------------------------


class ReduceLROnPlateau:
    """Reduce every group's lr by ``factor`` when a metric has stopped improving for
    ``patience`` epochs.

    ``step(metrics)`` once per epoch. Improvement (``mode="min"``): ``metric < best * (1 -
    threshold)`` (``threshold_mode="rel"``) or ``metric < best - threshold`` (``"abs"``); the
    mirror for ``"max"``. After a reduction (``lr = max(lr * factor, min_lr)`` per group,
    ``min_lr`` a number or one per group, skipped if the change is below ``eps``), ``cooldown``
    epochs pass before bad epochs count again.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> from losscore.optim.lr_scheduler import ReduceLROnPlateau
    >>> opt = SGD([np.zeros(1)], lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for loss in [1.0, 1.0, 1.0]:  # two epochs without improvement > patience
    ...     sched.step(loss)
    >>> opt.lr
    0.5
    """

    def __init__(
        self,
        optimizer: Any,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        _check_optimizer(optimizer)
        if mode not in ("min", "max"):
            raise ParameterError(f"mode: expected 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ParameterError(f"threshold_mode: expected 'rel' or 'abs', got {threshold_mode!r}")
        factor = _number("factor", factor)
        if not factor < 1.0:
            raise ParameterError(f"factor: must be < 1.0, got {factor}")
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = _int("patience", patience, 0)
        self.threshold = _number("threshold", threshold)
        self.threshold_mode = threshold_mode
        self.cooldown = _int("cooldown", cooldown, 0)
        n = len(_groups(optimizer))
        self.default_min_lr = (
            None if isinstance(min_lr, list | tuple) else _number("min_lr", min_lr)
        )
        self.min_lrs = _per_group("min_lr", min_lr, n)
        self.eps = _number("eps", eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [float(g["lr"]) for g in _groups(optimizer)]

    def _is_better(self, a: float) -> bool:
        t, best = self.threshold, self.best
        if self.mode == "min":
            return a < (best * (1.0 - t) if self.threshold_mode == "rel" else best - t)
        return a > (best * (1.0 + t) if self.threshold_mode == "rel" else best + t)

    def step(self, metrics: float) -> None:
        """Record this epoch's metric (``metrics``, as PyTorch names it); reduce the lr if it
        has plateaued."""
        current = _number("metrics", metrics, finite=False)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        groups = _groups(self.optimizer)
        if self.num_bad_epochs > self.patience:
            if len(self.min_lrs) != len(groups):
                if self.default_min_lr is None:
                    raise ParameterError(
                        f"min_lr: {len(self.min_lrs)} values for {len(groups)} parameter groups"
                    )
                self.min_lrs = [self.default_min_lr] * len(groups)
            for group, min_lr in zip(groups, self.min_lrs, strict=True):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [float(g["lr"]) for g in groups]

    def get_last_lr(self) -> list[float]:
        """The lr of every group after the last :meth:`step`."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer."""
        return {k: _copy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        unknown = set(state_dict) - set(self.__dict__)
        if unknown or "optimizer" in state_dict:
            raise ParameterError(f"state_dict: unexpected keys for ReduceLROnPlateau: {unknown}")
        self.__dict__.update({k: _copy(v) for k, v in state_dict.items()})
