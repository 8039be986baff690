"""Schedulers' lr sequences against the closed-form formulas of torch.optim.lr_scheduler."""

from __future__ import annotations

import bisect
import math

import numpy as np
import pytest

from losscore.errors import ParameterError, ParameterTypeError
from losscore.optim import SGD, Adagrad, Adam
from losscore.optim import lr_scheduler as S


def _sequence(opt, sched, epochs):
    lrs = []
    for _ in range(epochs):
        lrs.append(sched.get_last_lr()[0])
        assert opt.lr == lrs[-1]
        opt.step([np.zeros(2)])
        sched.step()
    return lrs


def _opt(lr=0.5, cls=SGD, **kw):
    return cls([np.zeros(2)], lr=lr, **kw)


def test_step_lr():
    opt = _opt(0.5)
    got = _sequence(opt, S.StepLR(opt, step_size=3, gamma=0.3), 12)
    want = [0.5 * 0.3 ** (e // 3) for e in range(12)]
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_multistep_lr():
    opt = _opt(1.0)
    ms = [2, 5, 5, 9]
    got = _sequence(opt, S.MultiStepLR(opt, milestones=ms, gamma=0.5), 12)
    want = [0.5 ** bisect.bisect_right(ms, e) for e in range(12)]
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_exponential_lr():
    opt = _opt(0.2)
    got = _sequence(opt, S.ExponentialLR(opt, gamma=0.9), 20)
    np.testing.assert_allclose(got, [0.2 * 0.9**e for e in range(20)], rtol=1e-13)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing_lr(eta_min):
    opt = _opt(0.1)
    t_max = 7
    got = _sequence(opt, S.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min), 3 * t_max)
    want = [
        eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * e / t_max)) / 2
        for e in range(3 * t_max)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(("start", "end", "n"), [(1 / 3, 1.0, 5), (1.0, 0.1, 4), (0.5, 0.0, 3)])
def test_linear_lr(start, end, n):
    opt = _opt(0.3)
    got = _sequence(opt, S.LinearLR(opt, start_factor=start, end_factor=end, total_iters=n), 10)
    want = [0.3 * (start + (end - start) * min(e, n) / n) for e in range(10)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-16)


def _one_cycle_reference(step, total, max_lr, pct, div, final_div, three_phase, strategy):
    initial = max_lr / div
    min_lr = initial / final_div

    def anneal(a, b, x):
        if strategy == "cos":
            return b + (a - b) / 2 * (1 + math.cos(math.pi * x))
        return a + (b - a) * x

    if three_phase:
        ends = [pct * total - 1, 2 * pct * total - 2, total - 1]
        lrs = [(initial, max_lr), (max_lr, initial), (initial, min_lr)]
        moms = [(0.95, 0.85), (0.85, 0.95), (0.95, 0.95)]
    else:
        ends = [pct * total - 1, total - 1]
        lrs = [(initial, max_lr), (max_lr, min_lr)]
        moms = [(0.95, 0.85), (0.85, 0.95)]
    start = 0.0
    for i, end in enumerate(ends):
        if step <= end or i == len(ends) - 1:
            x = (step - start) / (end - start)
            return anneal(*lrs[i], x), anneal(*moms[i], x)
        start = end
    raise AssertionError


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("cls", [SGD, Adam])
def test_one_cycle_lr(strategy, three_phase, cls):
    opt = _opt(0.123, cls=cls)
    total = 40
    sched = S.OneCycleLR(
        opt, max_lr=0.5, total_steps=total, anneal_strategy=strategy, three_phase=three_phase
    )
    for step in range(total):
        lr, mom = _one_cycle_reference(step, total, 0.5, 0.3, 25.0, 1e4, three_phase, strategy)
        assert opt.lr == pytest.approx(lr, rel=1e-12)
        got_mom = opt.momentum if cls is SGD else opt.betas[0]
        assert got_mom == pytest.approx(mom, rel=1e-12)
        if cls is Adam:
            assert opt.betas[1] == 0.999
        opt.step([np.zeros(2)])
        sched.step()
    with pytest.raises(ParameterError, match="total_steps"):
        sched.step()


def test_one_cycle_epochs_and_errors():
    opt = _opt()
    sched = S.OneCycleLR(opt, max_lr=1.0, epochs=2, steps_per_epoch=5)
    assert sched.total_steps == 10
    with pytest.raises(ParameterError, match="total_steps"):
        S.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ParameterError, match="anneal_strategy"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="step")
    with pytest.raises(ParameterError, match="cycle_momentum"):
        S.OneCycleLR(_opt(cls=Adagrad), max_lr=1.0, total_steps=10)
    S.OneCycleLR(_opt(cls=Adagrad), max_lr=1.0, total_steps=10, cycle_momentum=False)


def test_reduce_lr_on_plateau_min():
    opt = _opt(1.0)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    metrics = [10, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]
    lrs = []
    for m in metrics:
        sched.step(m)
        lrs.append(opt.lr)
    # bad epochs: e2,e3,e4 (3 > patience 2) -> 0.5 at e4; cooldown 1 swallows e5;
    # e6,e7,e8 -> 0.25 at e8; cooldown e9; e10,e11,... -> max(0.125, 0.2) = 0.2 at e12.
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]
    for m in [9, 9, 9]:
        sched.step(m)
    assert opt.lr == 0.2 and sched.get_last_lr() == [0.2]


def test_reduce_lr_on_plateau_thresholds():
    opt = _opt(1.0)
    sched = S.ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0, threshold=0.1)
    sched.step(1.0)  # best = 1
    sched.step(1.05)  # not > 1.1: bad epoch -> reduce
    assert opt.lr == pytest.approx(0.1)
    opt = _opt(1.0)
    sched = S.ReduceLROnPlateau(opt, patience=0, threshold=0.5, threshold_mode="abs")
    sched.step(3.0)
    sched.step(2.6)  # not < 2.5
    assert opt.lr == pytest.approx(0.1)
    sched.step(2.0)  # < 3.0 - 0.5 -> better
    assert opt.lr == pytest.approx(0.1)


def test_state_dict_resumes():
    opt_a = _opt(1.0)
    a = S.CosineAnnealingLR(opt_a, T_max=10)
    for _ in range(4):
        a.step()
    sd = a.state_dict()
    opt_b = _opt(opt_a.lr)
    b = S.CosineAnnealingLR(opt_b, T_max=10)
    b.load_state_dict(sd)
    opt_b.lr = opt_a.lr
    for _ in range(5):
        a.step()
        b.step()
        assert a.get_last_lr() == b.get_last_lr()
    with pytest.raises(ParameterError, match="unexpected"):
        b.load_state_dict({"bogus": 1})
    p = S.ReduceLROnPlateau(opt_a)
    p.step(1.0)
    q = S.ReduceLROnPlateau(opt_b)
    q.load_state_dict(p.state_dict())
    assert q.best == 1.0


def test_scheduled_lr_drives_the_optimizer():
    w = np.zeros(1)
    opt = SGD([w], lr=1.0)
    sched = S.ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        opt.step([np.ones(1)])
        sched.step()
    np.testing.assert_allclose(w, [-(1.0 + 0.5 + 0.25)])


def test_bad_arguments():
    opt = _opt()
    with pytest.raises(ParameterError, match="step_size"):
        S.StepLR(opt, step_size=0)
    with pytest.raises(ParameterError, match="T_max"):
        S.CosineAnnealingLR(opt, T_max=-1)
    with pytest.raises(ParameterError, match="start_factor"):
        S.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ParameterError, match="end_factor"):
        S.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ParameterTypeError, match=r"milestones\[0\]"):
        S.MultiStepLR(opt, milestones=[1.5])
    with pytest.raises(ParameterError, match="mode"):
        S.ReduceLROnPlateau(opt, mode="avg")
    with pytest.raises(ParameterError, match="factor"):
        S.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ParameterTypeError, match="optimizer"):
        S.StepLR(object(), step_size=1)
    with pytest.raises(ParameterTypeError, match="metrics"):
        S.ReduceLROnPlateau(opt).step("low")
    with pytest.raises(ParameterError, match="gamma"):
        S.ExponentialLR(opt, gamma=float("nan"))
