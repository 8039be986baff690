"""A progress bar: tqdm when installed, else one plain line on stderr; silent off a terminal."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """``with Progress(total, "eval") as bar: bar.update(k)``; ``bar.set_postfix(text)``."""

    def __init__(self, total: int, desc: str, enabled: bool = True, unit: str = "it") -> None:
        self.total = max(int(total), 0)
        self.desc = desc
        self.count = 0
        self.postfix = ""
        self._tqdm: Any = None
        self._last = 0.0
        self.enabled = enabled and sys.stderr.isatty()
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self._tqdm = tqdm(total=self.total, desc=desc, unit=unit, leave=False)

    def update(self, k: int = 1) -> None:
        self.count += k
        if not self.enabled:
            return
        if self._tqdm is not None:
            self._tqdm.update(k)
            return
        now = time.monotonic()
        if now - self._last >= 0.1 or self.count >= self.total:
            self._last = now
            frac = self.count / self.total if self.total else 1.0
            filled = int(30 * frac)
            bar = "#" * filled + "-" * (30 - filled)
            sys.stderr.write(f"\r{self.desc} [{bar}] {frac:6.1%} {self.postfix}"[:79].ljust(79))
            sys.stderr.flush()

    def set_postfix(self, text: str) -> None:
        self.postfix = text
        if self._tqdm is not None:
            self._tqdm.set_postfix_str(text)

    def close(self) -> None:
        if not self.enabled:
            return
        if self._tqdm is not None:
            self._tqdm.close()
        else:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
