"""Functional form of every augmentation transform: ``mgclr.ops.<op_name>(x, lengths=None, **args)``.

Each function builds the transform (validating its arguments) and runs it as a one-op fused pipeline, so
the functional API, the ``nn.Module`` transforms and :class:`~mgclr.augment.Pipeline` share one code path.
"""

from __future__ import annotations

import inspect
from typing import Callable, Dict


def _make(cls) -> Callable:
    def op(x, lengths=None, *, coord_channels: int = 3, generator=None, seed=None, return_params: bool = False,
           params=None, **op_args):
        from ..augment.pipeline import Pipeline

        transform = cls(**op_args)
        return Pipeline([transform], coord_channels=coord_channels)(
            x, lengths, generator=generator, seed=seed, return_params=return_params, params=params)

    common = [
        inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("lengths", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
    ]
    skip = ("self", "kw", "p", "same_on_batch")
    own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
           for name, p in inspect.signature(cls.__init__).parameters.items() if name not in skip]
    base = [
        inspect.Parameter("p", inspect.Parameter.KEYWORD_ONLY, default=cls.default_p),
        inspect.Parameter("same_on_batch", inspect.Parameter.KEYWORD_ONLY, default=False),
    ]
    tail = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d) for n, d in (
        ("coord_channels", 3), ("generator", None), ("seed", None), ("return_params", False), ("params", None))]
    op.__signature__ = inspect.Signature(common + own + base + tail)
    op.__name__ = op.__qualname__ = cls.op_name
    op.__doc__ = (f"{cls.__doc__}\n\nFunctional form of :class:`mgclr.augment.{cls.__name__}`: x (N, C, T, V, M) "
                  "float, lengths (N,) valid frames; returns the augmented tensor (and AugmentParams with "
                  "return_params=True).")
    return op


def make_functionals() -> Dict[str, Callable]:
    from ..augment.transforms import ALL_TRANSFORMS

    return {cls.op_name: _make(cls) for cls in ALL_TRANSFORMS}
