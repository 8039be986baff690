"""The per-epoch progress bar of :func:`losscore.fit`: tqdm when installed, else one plain line."""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["ProgressBar", "progress_enabled"]

# Redrawing costs far more than a training step on a small model: redraw at most this often.
_MIN_INTERVAL = 0.1


def progress_enabled(progress: bool) -> bool:
    """A bar only when asked for and stdout is a terminal (not a log file or a pipe)."""
    if not progress:
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def _format_logs(logs: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in logs.items())


class ProgressBar:
    """One bar per epoch showing batches done and the running loss.

    ``update(batches, running_loss)`` is cheap: it returns at once unless ``_MIN_INTERVAL`` has
    passed since the last redraw.
    """

    def __init__(self, total: int, epoch: int, epochs: int) -> None:
        self.total = total
        self.desc = f"epoch {epoch + 1}/{epochs}"
        self.done = 0
        self._last = 0.0
        self._bar: Any = None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            self._bar = tqdm(total=total, desc=self.desc, unit="batch", leave=True,
                             file=sys.stdout, mininterval=_MIN_INTERVAL)

    def update(self, done: int, running_loss: float) -> None:
        now = time.monotonic()
        if now - self._last < _MIN_INTERVAL and done < self.total:
            return
        self._last = now
        if self._bar is not None:
            self._bar.update(done - self.done)
            self._bar.set_postfix_str(f"loss={running_loss:.4g}", refresh=False)
        else:
            width = 30
            filled = int(width * done / max(self.total, 1))
            sys.stdout.write(
                f"\r{self.desc} [{'=' * filled}{' ' * (width - filled)}] "
                f"{done}/{self.total} loss={running_loss:.4g}"
            )
            sys.stdout.flush()
        self.done = done

    def close(self, logs: dict[str, float]) -> None:
        if self._bar is not None:
            self._bar.update(self.total - self.done)
            self._bar.set_postfix_str(_format_logs(logs), refresh=True)
            self._bar.close()
        else:
            sys.stdout.write(f"\r{self.desc} {self.total}/{self.total} {_format_logs(logs)}\n")
            sys.stdout.flush()
