"""The one progress bar of losscore (``fit``, ``evaluate``, ``losscore eval/bench/demo``).

tqdm when installed, else one plain line redrawn in place. Callers decide whether to show it
(:func:`progress_enabled`: asked for, and the stream is a terminal, not a log file or a pipe).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

__all__ = ["Progress", "ProgressBar", "progress_enabled"]

# Redrawing costs far more than a training step on a small model: redraw at most this often.
_MIN_INTERVAL = 0.1
_WIDTH = 30  # characters of the plain bar
_LINE = 79  # a transient plain line is padded/truncated to this width


def progress_enabled(progress: bool, stream: IO[str] | None = None) -> bool:
    """A bar only when asked for and ``stream`` (default stdout) is a terminal."""
    if not progress:
        return False
    isatty = getattr(sys.stdout if stream is None else stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


class Progress:
    """``with Progress(total, "evaluating", stream=sys.stderr) as bar: bar.update(k)``.

    ``update``/``update_to`` return at once unless ``_MIN_INTERVAL`` has passed since the last
    redraw (or the bar is complete), so they may be called once per batch. ``leave=True`` keeps
    a final line (``close(summary)``); otherwise the line is cleared on close.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        *,
        unit: str = "it",
        stream: IO[str] | None = None,
        enabled: bool = True,
        leave: bool = False,
    ) -> None:
        self.total = max(int(total), 0)
        self.desc = desc
        self.count = 0
        self.postfix = ""
        self.enabled = enabled
        self.leave = leave
        self._stream = stream
        self._drawn = 0
        self._last = 0.0
        self._tqdm: Any = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._tqdm = tqdm(total=self.total, desc=desc, unit=unit, leave=leave,
                                  file=self.stream, mininterval=_MIN_INTERVAL)

    @property
    def stream(self) -> IO[str]:
        # Looked up late: tests and notebooks replace sys.stdout/sys.stderr.
        return self._stream if self._stream is not None else sys.stderr

    def update(self, k: int = 1) -> None:
        """Advance by ``k`` units."""
        self.update_to(self.count + k)

    def update_to(self, done: int, postfix: Callable[[], str] | None = None) -> None:
        """Set the count to ``done``; ``postfix()`` (formatted only on a redraw) follows it."""
        self.count = done
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < _MIN_INTERVAL and done < self.total:
            return
        self._last = now
        if postfix is not None:
            self.postfix = postfix()
        if self._tqdm is not None:
            self._tqdm.update(done - self._drawn)
            if postfix is not None:
                self._tqdm.set_postfix_str(self.postfix, refresh=False)
        else:
            filled = int(_WIDTH * done / max(self.total, 1))
            line = (f"\r{self.desc} [{'=' * filled}{' ' * (_WIDTH - filled)}] "
                    f"{done}/{self.total} {self.postfix}")
            self.stream.write(line if self.leave else line[: _LINE + 1].ljust(_LINE + 1))
            self.stream.flush()
        self._drawn = done

    def set_postfix(self, text: str) -> None:
        """Text shown after the count (drawn with the next update)."""
        self.postfix = text
        if self._tqdm is not None:
            self._tqdm.set_postfix_str(text, refresh=False)

    def close(self, summary: str | None = None) -> None:
        """Finish the bar; with ``leave=True`` its last line shows ``summary``."""
        if not self.enabled:
            return
        if summary is not None:
            self.postfix = summary
        if self._tqdm is not None:
            self._tqdm.update(self.count - self._drawn)
            if summary is not None:
                self._tqdm.set_postfix_str(summary, refresh=True)
            self._tqdm.close()
        elif self.leave:
            self.stream.write(f"\r{self.desc} {self.total}/{self.total} {self.postfix}\n")
            self.stream.flush()
        else:
            self.stream.write("\r" + " " * _LINE + "\r")
            self.stream.flush()
        self.enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _format_logs(logs: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in logs.items())


class ProgressBar(Progress):
    """:func:`losscore.fit`'s bar: one per epoch on stdout, batches done and the running loss."""

    def __init__(self, total: int, epoch: int, epochs: int) -> None:
        super().__init__(total, f"epoch {epoch + 1}/{epochs}", unit="batch",
                         stream=sys.stdout, leave=True)

    def update(self, done: int, running_loss: float) -> None:  # type: ignore[override]
        self.update_to(done, lambda: f"loss={running_loss:.4g}")

    def close(self, logs: dict[str, float] | None = None) -> None:  # type: ignore[override]
        super().close(_format_logs(logs) if logs is not None else None)
