"""The one progress bar (``losscore._progress``), as ``fit``, ``evaluate`` and the CLI use it."""

from __future__ import annotations

import io
import sys

import numpy as np

import losscore
from losscore._progress import Progress, progress_enabled


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_enabled_only_when_asked_and_on_a_terminal():
    assert progress_enabled(True, Terminal())
    assert not progress_enabled(False, Terminal())
    assert not progress_enabled(True, io.StringIO())
    closed = io.StringIO()
    closed.close()  # isatty() raises ValueError
    assert not progress_enabled(True, closed)


def test_plain_bar_counts_and_clears_its_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails -> plain bar
    out = Terminal()
    with Progress(10, "evaluating", stream=out) as bar:
        bar.update(4)
        bar.set_postfix("mse")
        bar.update(6)
    text = out.getvalue()
    assert "evaluating" in text and "10/10 mse" in text
    assert text.endswith("\r" + " " * 79 + "\r")  # a transient bar leaves nothing behind
    assert bar.count == 10


def test_plain_bar_with_leave_keeps_a_summary_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    out = Terminal()
    bar = Progress(3, "epoch 1/1", stream=out, leave=True)
    bar.update_to(3, lambda: "loss=0.5")
    bar.close("loss=0.25")
    assert out.getvalue().endswith("\repoch 1/1 3/3 loss=0.25\n")
    bar.close("again")  # closing twice writes nothing more
    assert out.getvalue().endswith("loss=0.25\n")


def test_postfix_is_formatted_only_when_drawn(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    calls = []
    bar = Progress(1000, "x", stream=Terminal())

    def postfix() -> str:
        calls.append(1)
        return "p"

    for done in range(1, 500):
        bar.update_to(done, postfix)
    assert len(calls) < 10  # redraws are rate-limited
    bar.close()


def test_disabled_bar_writes_nothing():
    out = Terminal()
    with Progress(5, "quiet", stream=out, enabled=False) as bar:
        bar.update(5)
    assert out.getvalue() == ""


def test_tqdm_bar_writes_to_the_given_stream():
    out = Terminal()
    with Progress(4, "with-tqdm", stream=out) as bar:
        bar.update(4)
    assert "with-tqdm" in out.getvalue()


def test_evaluate_shows_the_bar_on_a_terminal_stderr(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    p = np.linspace(-1, 1, 100)
    assert losscore.evaluate("mse", p, np.zeros(100), progress=True) == losscore.mse(p, 0 * p)
    assert "evaluating" in err.getvalue()
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    losscore.evaluate("mse", p, np.zeros(100), progress=False)
    assert quiet.getvalue() == ""
