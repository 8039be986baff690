"""Learning-rate schedulers with ``torch.optim.lr_scheduler`` semantics.

A scheduler changes ``optimizer.lr`` (and, for :class:`OneCycleLR`, the momentum or beta1);
call ``scheduler.step()`` after ``optimizer.step()``, once per epoch (or per batch for
:class:`OneCycleLR`). Like PyTorch's chainable schedulers, each step updates the current lr
from the previous one, so their values equal the documented closed forms up to rounding.

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

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..errors import ParameterError

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "StepLR",
]


def _check_optimizer(optimizer: Any) -> None:
    if not hasattr(optimizer, "lr"):
        raise ParameterError(
            f"optimizer: expected a losscore optimizer with an lr attribute, got "
            f"{type(optimizer).__name__}"
        )


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ParameterError(f"{name}: expected a positive int, got {value!r}")
    return value


class LRScheduler:
    """Base of the epoch-indexed schedulers: ``last_epoch`` counts ``step()`` calls.

    Construction performs step 0 (``lr`` for epoch 0); each :meth:`step` advances one epoch.
    """

    def __init__(self, optimizer: Any) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        self.base_lrs = [float(optimizer.lr)]
        self.last_epoch = -1
        self._last_lr = [float(optimizer.lr)]
        self.step()

    def _next_lr(self, lr: float) -> float:
        """The lr for epoch ``self.last_epoch`` from the current one."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the optimizer's lr."""
        self.last_epoch += 1
        lr = self._next_lr(float(self.optimizer.lr))
        self.optimizer.lr = lr
        self._last_lr = [lr]

    def get_last_lr(self) -> list[float]:
        """The lr set by the last :meth:`step` (a one-element list, as PyTorch's per group)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer."""
        return {k: _copy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (the optimizer's lr is not changed)."""
        unknown = set(state_dict) - set(self.__dict__)
        if unknown or "optimizer" in state_dict:
            raise ParameterError(
                f"state_dict: unexpected keys {sorted(unknown | ({'optimizer'} & set(state_dict)))}"
                f" for {type(self).__name__}"
            )
        self.__dict__.update({k: _copy(v) for k, v in state_dict.items()})


def _copy(v: Any) -> Any:
    if isinstance(v, list):
        return [_copy(x) for x in v]
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, Counter):
        return Counter(v)
    return v


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs.

    ``lr_epoch = base_lr * gamma ** (epoch // step_size)``.

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

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _positive_int("step_size", step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def _next_lr(self, lr: float) -> float:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lr
        return lr * self.gamma


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone epoch.

    ``lr_epoch = base_lr * gamma ** (number of milestones <= epoch)``.

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

    def __init__(self, optimizer: Any, milestones: Iterable[int], gamma: float = 0.1) -> None:
        ms = list(milestones)
        if any(isinstance(m, bool) or not isinstance(m, int) for m in ms):
            raise ParameterError(f"milestones: expected ints, got {ms!r}")
        self.milestones = Counter(ms)
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def _next_lr(self, lr: float) -> float:
        if self.last_epoch not in self.milestones:
            return lr
        return lr * self.gamma ** self.milestones[self.last_epoch]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch: ``lr_epoch = base_lr * gamma ** epoch``.

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

    def __init__(self, optimizer: Any, gamma: float) -> None:
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def _next_lr(self, lr: float) -> float:
        return lr if self.last_epoch == 0 else lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base lr to ``eta_min`` over ``T_max`` epochs (SGDR without
    restarts; past ``T_max`` the cosine continues, as in PyTorch).

    ``lr_epoch = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.

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

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = _positive_int("T_max", T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer)

    def _next_lr(self, lr: float) -> float:
        e, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        base = self.base_lrs[0]
        if e == 0:
            return lr
        if (e - 1 - t_max) % (2 * t_max) == 0:
            return lr + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        return (1 + math.cos(math.pi * e / t_max)) / (1 + math.cos(math.pi * (e - 1) / t_max)) * (
            lr - eta_min
        ) + eta_min


class LinearLR(LRScheduler):
    """Scale the lr linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs.

    ``lr_epoch = base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)``.

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
    ) -> None:
        if not 0 < start_factor <= 1:
            raise ParameterError(f"start_factor: must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ParameterError(f"end_factor: must be in [0, 1], got {end_factor}")
        self.start_factor = float(start_factor)
        self.end_factor = float(end_factor)
        self.total_iters = _positive_int("total_iters", total_iters)
        super().__init__(optimizer)

    def _next_lr(self, lr: float) -> float:
        e, s, f, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if e == 0:
            return lr * s
        if e > n:
            return lr
        return lr * (1.0 + (f - s) / (n * s + (e - 1) * (f - s)))


class OneCycleLR(LRScheduler):
    """The 1cycle policy (per batch): lr from ``max_lr / div_factor`` up to ``max_lr`` over the
    first ``pct_start`` of ``total_steps``, then down to ``initial_lr / final_div_factor``
    (``three_phase``: up, back to the initial lr, then down). With ``cycle_momentum`` the
    momentum (or beta1) moves inversely between ``max_momentum`` and ``base_momentum``.

    ``anneal_strategy="cos"``: ``end + (start - end) / 2 * (1 + cos(pi * pct))``;
    ``"linear"``: ``start + (end - start) * pct``, ``pct`` the fraction of the current phase.

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

    def __init__(
        self,
        optimizer: Any,
        max_lr: float,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ParameterError(
                    "total_steps: give total_steps, or both epochs and steps_per_epoch"
                )
            total_steps = _positive_int("epochs", epochs) * _positive_int(
                "steps_per_epoch", steps_per_epoch
            )
        self.total_steps = _positive_int("total_steps", total_steps)
        if not 0 <= pct_start <= 1:
            raise ParameterError(f"pct_start: must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ParameterError(
                f"anneal_strategy: expected 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self.anneal_strategy = anneal_strategy
        self.initial_lr = float(max_lr) / div_factor
        self.max_lr = float(max_lr)
        self.min_lr = self.initial_lr / final_div_factor
        n, pct = float(self.total_steps), float(pct_start)
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
        self.cycle_momentum = bool(cycle_momentum)
        self.base_momentum = float(base_momentum)
        self.max_momentum = float(max_momentum)
        if self.cycle_momentum:
            hyper = getattr(optimizer, "hyper", {})
            if "betas" in hyper:
                self._momentum_attr = "betas"
            elif "momentum" in hyper:
                self._momentum_attr = "momentum"
            else:
                raise ParameterError(
                    "cycle_momentum: the optimizer has neither momentum nor betas; "
                    "pass cycle_momentum=False"
                )
            self._set_momentum(self.max_momentum)
        optimizer.lr = self.initial_lr
        super().__init__(optimizer)

    def _set_momentum(self, m: float) -> None:
        if self._momentum_attr == "betas":
            self.optimizer.betas = (m, self.optimizer.betas[1])
        else:
            self.optimizer.momentum = m

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _next_lr(self, lr: float) -> float:
        step = self.last_epoch
        if step > self.total_steps:
            raise ParameterError(
                f"OneCycleLR: tried to step {step} times, but total_steps is {self.total_steps}"
            )
        start_step = 0.0
        values = {
            "initial_lr": self.initial_lr,
            "max_lr": self.max_lr,
            "min_lr": self.min_lr,
            "base_momentum": self.base_momentum,
            "max_momentum": self.max_momentum,
        }
        for i, (end_step, lr0, lr1, m0, m1) in enumerate(self._phases):
            if step <= end_step or i == len(self._phases) - 1:
                pct = (step - start_step) / (end_step - start_step)
                # Past the last phase (the step after training) linear annealing overshoots
                # below zero; PyTorch stores that, losscore's lr must stay non-negative.
                new_lr = max(self._anneal(values[lr0], values[lr1], pct), 0.0)
                if self.cycle_momentum:
                    self._set_momentum(self._anneal(values[m0], values[m1], pct))
                return new_lr
            start_step = end_step
        raise AssertionError("unreachable: the last phase always matches")


class ReduceLROnPlateau:
    """Reduce the lr by ``factor`` when a metric has stopped improving for ``patience`` epochs.

    ``step(metrics)`` once per epoch. Improvement (``mode="min"``): ``metric < best * (1 -
    threshold)`` (``threshold_mode="rel"``) or ``metric < best - threshold`` (``"abs"``); the
    mirror for ``"max"``. After a reduction (``lr = max(lr * factor, min_lr)``, skipped if the
    change is below ``eps``), ``cooldown`` epochs pass before bad epochs count again.

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
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        _check_optimizer(optimizer)
        if mode not in ("min", "max"):
            raise ParameterError(f"mode: expected 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ParameterError(f"threshold_mode: expected 'rel' or 'abs', got {threshold_mode!r}")
        if not factor < 1.0:
            raise ParameterError(f"factor: must be < 1.0, got {factor}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ParameterError(f"patience: expected a non-negative int, got {patience!r}")
        if isinstance(cooldown, bool) or not isinstance(cooldown, int) or cooldown < 0:
            raise ParameterError(f"cooldown: expected a non-negative int, got {cooldown!r}")
        self.optimizer = optimizer
        self.mode = mode
        self.factor = float(factor)
        self.patience = patience
        self.threshold = float(threshold)
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.min_lr = float(min_lr)
        self.eps = float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [float(optimizer.lr)]

    def _is_better(self, a: float) -> bool:
        t, best = self.threshold, self.best
        if self.mode == "min":
            return a < (best * (1.0 - t) if self.threshold_mode == "rel" else best - t)
        return a > (best * (1.0 + t) if self.threshold_mode == "rel" else best + t)

    def step(self, metrics: float) -> None:
        """Record this epoch's metric (``metrics``, as PyTorch names it); reduce the lr if it
        has plateaued."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise ParameterError(f"metrics: expected a number, got {metrics!r}") from None
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            old = float(self.optimizer.lr)
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                self.optimizer.lr = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [float(self.optimizer.lr)]

    def get_last_lr(self) -> list[float]:
        """The lr after the last :meth:`step` (a one-element list)."""
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
