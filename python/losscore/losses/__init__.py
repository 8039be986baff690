"""losscore's loss functions, one module per family (mirroring the core's ``loss/``), and the
registry every other part of losscore reads.

* :mod:`~losscore.losses.regression`: ``mse``, ``mae``, ``huber``, ``smooth_l1``, ``log_cosh``,
  ``pinball``, ``poisson_nll``;
* :mod:`~losscore.losses.deviance`: ``poisson_deviance``, ``gamma_deviance``,
  ``tweedie_deviance``;
* :mod:`~losscore.losses.binary`: the element-wise classification losses;
* :mod:`~losscore.losses.softmax`: ``cross_entropy``;
* :mod:`~losscore.losses.classification`: ``nll_loss``, ``multi_margin``;
* :mod:`~losscore.losses.gaussian`: ``gaussian_nll`` (three differentiable inputs);
* :mod:`~losscore.losses.ranking`: ``margin_ranking``, ``cosine_embedding``, ``triplet_margin``
  (pairs and triplets of inputs);
* :mod:`~losscore.losses.focal`: ``softmax_focal``;
* :mod:`~losscore.losses.multilabel`: ``multilabel_soft_margin``.

``registry`` maps each loss name to its :class:`LossSpec` (function, kind, kernel, keyword
defaults, first-argument name, whether the target is class indices, and what it supports:
``grad``, ``hess``, ``chunked``); :func:`resolve_loss` finds a spec by name or function.
Integrations (chunked evaluation, the command line, framework bridges) read these instead of
keeping their own lists.

Examples
--------
>>> from losscore.losses import registry
>>> rows = sorted(name for name, spec in registry.items() if spec.kind == "rows")
>>> rows  # doctest: +NORMALIZE_WHITESPACE
['cosine_embedding', 'cross_entropy', 'multi_margin', 'multilabel_soft_margin', 'nll_loss',
 'softmax_focal', 'triplet_margin']
>>> registry["kl_div"].defaults["reduction"]
'batchmean'
"""

from __future__ import annotations

from . import (
    binary,
    classification,
    deviance,
    focal,
    gaussian,
    multilabel,
    ranking,
    regression,
    softmax,
)
from ._registry import (
    FloatArray,
    Loss,
    LossKind,
    LossSpec,
    LossValue,
    Reduction,
    register,
    registry,
    resolve_loss,
)

# The loss functions: each family module's __all__ (a new loss is listed there only).
from .binary import *  # noqa: F403
from .classification import *  # noqa: F403
from .deviance import *  # noqa: F403
from .focal import *  # noqa: F403
from .gaussian import *  # noqa: F403
from .multilabel import *  # noqa: F403
from .ranking import *  # noqa: F403
from .regression import *  # noqa: F403
from .softmax import *  # noqa: F403

__all__ = [
    "FloatArray",
    "Loss",
    "LossKind",
    "LossSpec",
    "LossValue",
    "Reduction",
    "register",
    "registry",
    "resolve_loss",
]
__all__ += binary.__all__
__all__ += classification.__all__
__all__ += gaussian.__all__
__all__ += ranking.__all__
__all__ += focal.__all__
__all__ += multilabel.__all__
__all__ += deviance.__all__
__all__ += regression.__all__
__all__ += softmax.__all__
