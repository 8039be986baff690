"""Every scheduler step by step against torch.optim.lr_scheduler itself, over two parameter
groups with different learning rates (the lrs, and the momentum / beta1 where cycled)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from losscore import optim
from losscore.errors import ParameterError, ParameterTypeError
from losscore.optim import lr_scheduler as S

TS = torch.optim.lr_scheduler

EPOCHS = 30


def _pair(cls_name="SGD", lrs=(0.5, 0.1), **kw):
    """The same two-group optimizer in losscore and in torch."""
    ours = getattr(optim, cls_name)(
        [{"params": [np.zeros(2)]}, {"params": [np.zeros(3)], "lr": lrs[1]}], lr=lrs[0], **kw
    )
    theirs = getattr(torch.optim, cls_name)(
        [
            {"params": [torch.zeros(2, requires_grad=True)]},
            {"params": [torch.zeros(3, requires_grad=True)], "lr": lrs[1]},
        ],
        lr=lrs[0],
        **kw,
    )
    return ours, theirs


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _compare(make, cls_name="SGD", epochs=EPOCHS, check_momentum=False, **kw):
    """``make(optimizer, scheduler module)`` builds the scheduler; step both side by side."""
    ours, theirs = _pair(cls_name, **kw)
    s_ours = make(ours, S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "optimizer.step() before scheduler.step()"
        s_theirs = make(theirs, TS)
        for epoch in range(epochs):
            got, want = s_ours.get_last_lr(), [float(x) for x in s_theirs.get_last_lr()]
            assert len(got) == 2
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=f"{epoch}")
            assert [g["lr"] for g in ours.param_groups] == pytest.approx(
                [g["lr"] for g in theirs.param_groups], rel=1e-12, abs=1e-15
            )
            if check_momentum:
                np.testing.assert_allclose(_momenta(ours), _momenta(theirs), rtol=1e-12)
            ours.step([np.zeros(2), np.zeros(3)])
            theirs.step()
            s_ours.step()
            s_theirs.step()
    return ours, s_ours


SCHEDULES = {
    "StepLR": lambda o, m: m.StepLR(o, step_size=3, gamma=0.3),
    "MultiStepLR": lambda o, m: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.5),
    "ExponentialLR": lambda o, m: m.ExponentialLR(o, gamma=0.9),
    "ConstantLR": lambda o, m: m.ConstantLR(o, factor=0.25, total_iters=4),
    "LinearLR": lambda o, m: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=7),
    "PolynomialLR": lambda o, m: m.PolynomialLR(o, total_iters=12, power=2.5),
    "CosineAnnealingLR": lambda o, m: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "LambdaLR": lambda o, m: m.LambdaLR(o, lambda e: 0.95**e * (1 + e % 3)),
    "LambdaLR-per-group": lambda o, m: m.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9**e]),
    "MultiplicativeLR": lambda o, m: m.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 1.05),
    "WarmRestarts": lambda o, m: m.CosineAnnealingWarmRestarts(o, T_0=4, eta_min=0.001),
    "WarmRestarts-Tmult": lambda o, m: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "Sequential": lambda o, m: m.SequentialLR(
        o,
        [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=10)],
        milestones=[5],
    ),
    "Sequential-three": lambda o, m: m.SequentialLR(
        o,
        [
            m.ConstantLR(o, factor=0.5, total_iters=3),
            m.ExponentialLR(o, gamma=0.8),
            m.StepLR(o, step_size=4, gamma=0.5),
        ],
        milestones=[3, 9],
    ),
    "Chained": lambda o, m: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=4), m.ExponentialLR(o, gamma=0.9)]
    ),
    # Two chainable schedulers stepped together multiply their factors (the case).
    "LinearLR+Cosine-chained": lambda o, m: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.25, total_iters=4), m.CosineAnnealingLR(o, T_max=12)]
    ),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_follow_torch_on_every_group(name):
    _compare(SCHEDULES[name])


def test_two_schedulers_stepped_by_hand_compose_as_torch():
    # The issue: LinearLR and CosineAnnealingLR on one optimizer, each stepped every epoch.
    def make(o, m):
        class Both:
            def __init__(self):
                self.a = m.LinearLR(o, start_factor=0.1, total_iters=5)
                self.b = m.CosineAnnealingLR(o, T_max=20)

            def step(self):
                self.a.step()
                self.b.step()

            def get_last_lr(self):
                return self.b.get_last_lr()

        return Both()

    _compare(make, epochs=25)


def test_warmup_then_cosine_peaks_at_the_base_lr():
    opt, sched = _compare(SCHEDULES["Sequential"], epochs=6)
    del opt
    # Formula (torch docs): at the milestone the cosine restarts from initial_lr.
    assert sched.get_last_lr() == pytest.approx(
        [0.5 * (1 + math.cos(math.pi / 10)) / 2, 0.1 * (1 + math.cos(math.pi / 10)) / 2]
    )


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize("cls_name", ["SGD", "Adam"])
def test_cyclic_lr_follows_torch(mode, cls_name):
    kw = {"momentum": 0.9} if cls_name == "SGD" else {}

    def make(o, m):
        return m.CyclicLR(
            o,
            base_lr=[0.01, 0.02],
            max_lr=[0.1, 0.3],
            step_size_up=3,
            step_size_down=5,
            mode=mode,
            gamma=0.97,
            base_momentum=0.8,
            max_momentum=0.95,
        )

    _compare(make, cls_name, epochs=40, check_momentum=True, **kw)


def test_cyclic_lr_custom_scale_fn_and_no_momentum():
    def make(o, m):
        return m.CyclicLR(
            o,
            base_lr=0.01,
            max_lr=0.2,
            step_size_up=4,
            scale_fn=lambda x: 1 / (1 + 0.1 * x),
            scale_mode="iterations",
            cycle_momentum=False,
        )

    _compare(make, "Adagrad", epochs=30)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_follows_torch(strategy, three_phase):
    def make(o, m):
        return m.OneCycleLR(
            o,
            max_lr=[1.0, 0.4],
            total_steps=EPOCHS,
            pct_start=0.25,
            anneal_strategy=strategy,
            three_phase=three_phase,
        )

    ours, theirs = _pair("SGD", momentum=0.9)
    s_ours = make(ours, S)
    s_theirs = make(theirs, TS)
    for _ in range(EPOCHS - 1):
        np.testing.assert_allclose(s_ours.get_last_lr(), s_theirs.get_last_lr(), rtol=1e-12)
        np.testing.assert_allclose(_momenta(ours), _momenta(theirs), rtol=1e-12)
        s_ours.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s_theirs.step()


@pytest.mark.parametrize(
    "name",
    [
        "StepLR",
        "MultiStepLR",
        "ExponentialLR",
        "ConstantLR",
        "LinearLR",
        "PolynomialLR",
        "CosineAnnealingLR",
    ],
)
def test_step_with_epoch_uses_the_closed_form_as_torch(name):
    ours, theirs = _pair()
    s_ours = SCHEDULES[name](ours, S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates step(epoch)
        s_theirs = SCHEDULES[name](theirs, TS)
        for epoch in [3, 7, 2, 11, 0, 25]:
            s_ours.step(epoch)
            s_theirs.step(epoch)
            np.testing.assert_allclose(s_ours.get_last_lr(), s_theirs.get_last_lr(), rtol=1e-12)


def test_warm_restarts_with_fractional_epochs_follow_torch():
    ours, theirs = _pair()
    s_ours = S.CosineAnnealingWarmRestarts(ours, T_0=3, T_mult=2, eta_min=0.01)
    s_theirs = TS.CosineAnnealingWarmRestarts(theirs, T_0=3, T_mult=2, eta_min=0.01)
    for epoch in np.arange(0, 20, 0.37):
        s_ours.step(float(epoch))
        s_theirs.step(float(epoch))
        np.testing.assert_allclose(s_ours.get_last_lr(), s_theirs.get_last_lr(), rtol=1e-12)


@pytest.mark.parametrize(
    "name",
    [
        "StepLR",
        "ExponentialLR",
        "CosineAnnealingLR",
        "LinearLR",
        "PolynomialLR",
        "LambdaLR",
        "WarmRestarts",
    ],
)
def test_last_epoch_resumes_as_torch(name):
    # Run 6 epochs, save the optimizer, then build a new scheduler with last_epoch=5.
    ours, theirs = _pair()
    make = SCHEDULES[name]
    s_ours, s_theirs = make(ours, S), make(theirs, TS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(6):
            s_ours.step()
            s_theirs.step()
    ours2, theirs2 = _pair()
    for g2, g in zip(ours2.param_groups, ours.param_groups, strict=True):
        g2["lr"], g2["initial_lr"] = g["lr"], g["initial_lr"]
    for g2, g in zip(theirs2.param_groups, theirs.param_groups, strict=True):
        g2["lr"], g2["initial_lr"] = g["lr"], g["initial_lr"]
    kwargs_fn = {
        "StepLR": lambda o, m: m.StepLR(o, step_size=3, gamma=0.3, last_epoch=5),
        "ExponentialLR": lambda o, m: m.ExponentialLR(o, gamma=0.9, last_epoch=5),
        "CosineAnnealingLR": lambda o, m: m.CosineAnnealingLR(
            o, T_max=7, eta_min=0.01, last_epoch=5
        ),
        "LinearLR": lambda o, m: m.LinearLR(
            o, start_factor=0.2, end_factor=0.9, total_iters=7, last_epoch=5
        ),
        "PolynomialLR": lambda o, m: m.PolynomialLR(o, total_iters=12, power=2.5, last_epoch=5),
        "LambdaLR": lambda o, m: m.LambdaLR(o, lambda e: 0.95**e * (1 + e % 3), last_epoch=5),
        "WarmRestarts": lambda o, m: m.CosineAnnealingWarmRestarts(
            o, T_0=4, eta_min=0.001, last_epoch=5
        ),
    }[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r_ours, r_theirs = kwargs_fn(ours2, S), kwargs_fn(theirs2, TS)
        assert r_ours.last_epoch == r_theirs.last_epoch
        for _ in range(8):
            np.testing.assert_allclose(r_ours.get_last_lr(), r_theirs.get_last_lr(), rtol=1e-12)
            r_ours.step()
            r_theirs.step()


def test_optimizer_state_dict_carries_initial_lr_for_resuming():
    ours, _ = _pair()
    S.StepLR(ours, step_size=2)
    sd = ours.state_dict()
    assert [g["initial_lr"] for g in sd["param_groups"]] == [0.5, 0.1]
    fresh, _ = _pair("SGD", lrs=(9.0, 9.0))
    fresh.load_state_dict(sd)
    resumed = S.StepLR(fresh, step_size=2, last_epoch=3)
    assert resumed.base_lrs == [0.5, 0.1]


def test_resuming_without_initial_lr_is_an_error():
    ours, _ = _pair()
    with pytest.raises(ParameterError, match=r"initial_lr.*param_groups\[0\]"):
        S.StepLR(ours, step_size=2, last_epoch=3)


def test_reduce_on_plateau_per_group_follows_torch():
    ours, theirs = _pair()
    s_ours = S.ReduceLROnPlateau(ours, factor=0.5, patience=1, min_lr=[0.1, 0.02], cooldown=1)
    s_theirs = TS.ReduceLROnPlateau(theirs, factor=0.5, patience=1, min_lr=[0.1, 0.02], cooldown=1)
    losses = [1.0, 0.9, 0.9, 0.9, 0.9, 0.95, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    for loss in losses:
        s_ours.step(loss)
        s_theirs.step(loss)
        np.testing.assert_allclose(s_ours.get_last_lr(), s_theirs.get_last_lr(), rtol=1e-12)


def test_scheduler_built_before_the_parameters_are_bound():
    # fit() binds the model's parameters later; the scheduler then covers every group.
    opt = optim.SGD(lr=1.0)
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    sched.step()
    assert opt.lr == 0.5
    opt.bind([{"params": [np.zeros(2)]}, {"params": [np.zeros(1)], "weight_decay": 0.0}])
    sched.step()
    assert sched.get_last_lr() == [0.25, 0.25]
    assert [g["initial_lr"] for g in opt.param_groups] == [1.0, 1.0]


def test_scheduler_state_dict_round_trip():
    ours, _ = _pair()
    make = SCHEDULES["Sequential"]
    a = make(ours, S)
    for _ in range(7):
        a.step()
    sd = a.state_dict()
    ours2, _ = _pair()
    b = make(ours2, S)
    b.load_state_dict(sd)
    for g2, g in zip(ours2.param_groups, ours.param_groups, strict=True):
        g2["lr"] = g["lr"]
    for _ in range(5):
        a.step()
        b.step()
        assert a.get_last_lr() == b.get_last_lr()


def test_bad_scheduler_arguments():
    ours, _ = _pair()
    with pytest.raises(ParameterError, match="lr_lambda"):
        S.LambdaLR(ours, [lambda e: 1.0])
    with pytest.raises(ParameterTypeError, match=r"lr_lambda\[0\]"):
        S.MultiplicativeLR(ours, 0.5)
    with pytest.raises(ParameterError, match="factor"):
        S.ConstantLR(ours, factor=2.0)
    with pytest.raises(ParameterTypeError, match="total_iters"):
        S.PolynomialLR(ours, total_iters=True)
    with pytest.raises(ParameterTypeError, match="power"):
        S.PolynomialLR(ours, power="2")
    with pytest.raises(ParameterError, match="T_0"):
        S.CosineAnnealingWarmRestarts(ours, T_0=0)
    with pytest.raises(ParameterTypeError, match="T_mult"):
        S.CosineAnnealingWarmRestarts(ours, T_0=2, T_mult=1.5)
    with pytest.raises(ParameterError, match="max_lr"):
        S.CyclicLR(ours, base_lr=0.1, max_lr=[1.0, 2.0, 3.0])
    with pytest.raises(ParameterError, match="mode"):
        S.CyclicLR(ours, base_lr=0.1, max_lr=1.0, mode="sawtooth")
    with pytest.raises(ParameterError, match="cycle_momentum"):
        S.CyclicLR(optim.Adagrad([np.zeros(1)]), base_lr=0.1, max_lr=1.0)
    with pytest.raises(ParameterError, match="milestones"):
        S.SequentialLR(ours, [S.StepLR(ours, 2), S.StepLR(ours, 3)], milestones=[])
    other, _ = _pair()
    with pytest.raises(ParameterError, match="another optimizer"):
        S.ChainedScheduler([S.StepLR(ours, 2), S.StepLR(other, 2)])
    with pytest.raises(ParameterError, match="ReduceLROnPlateau"):
        S.SequentialLR(ours, [S.StepLR(ours, 2), S.ReduceLROnPlateau(ours)], milestones=[2])
    with pytest.raises(ParameterError, match="schedulers"):
        S.ChainedScheduler([])
    with pytest.raises(ParameterTypeError, match="last_epoch"):
        S.StepLR(ours, 2, last_epoch="0")
    with pytest.raises(ParameterError, match="min_lr"):
        S.ReduceLROnPlateau(ours, min_lr=[0.1])
