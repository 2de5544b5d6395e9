"""Converters from the datasets' published files to the mgclr dataset format (``mgclr prepare``).

=============  ==========================================================  =========================
dataset        source                                                      benchmarks (meta.json)
=============  ==========================================================  =========================
``imigue``     OpenPose JSON + label CSV, or MiGA ``_light_hand.csv``      ``xsub``
``smg``        Kinect v2 ``SampleXXXX_skeleton.csv`` + ``_finelabels.csv``  ``xsub``
``ntu``        NTU RGB+D 60/120 ``.skeleton`` files                        ``xsub`` + ``xview``/``xset``
``nw_ucla``    ``all_sqe`` ``aAA_sSS_eEE_vVV.json``                         ``xview``
``utkinect``   ``joints_sXX_eYY.txt`` + ``actionLabel*.txt``                ``xsub``
=============  ==========================================================  =========================

Every converter is ``convert_<dataset>(src, dst, *, skip_bad=False, overwrite=False, progress=True,
splits=None, **options) -> ConversionReport``; :func:`prepare` picks one by name. What each does to the
coordinates is in its module docstring and in the dataset's ``meta["normalisation"]``. Its own options come with
it: an :class:`~mgclr.data.convert.common.Option` each, declared above the converter with
:func:`~mgclr.data.convert.common.declare_options` (:func:`declared_options`), from which ``mgclr prepare``
builds its flags. A new converter is its module and its line in :data:`CONVERTERS`.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable, Dict, Tuple, Union

from .common import ConversionError, ConversionReport, Option, check_dst_folder
from .imigue import convert_imigue
from .ntu import convert_ntu
from .nw_ucla import convert_nw_ucla
from .smg import convert_smg
from .utkinect import convert_utkinect

__all__ = ["CONVERTERS", "ConversionError", "ConversionReport", "Option", "convert_imigue", "convert_ntu",
           "convert_nw_ucla", "convert_smg", "convert_utkinect", "converter_options", "declared_options", "prepare"]

CONVERTERS: Dict[str, Callable[..., ConversionReport]] = {
    "imigue": convert_imigue, "smg": convert_smg, "ntu": convert_ntu, "nw_ucla": convert_nw_ucla,
    "utkinect": convert_utkinect,
}
_COMMON = ("src", "dst", "skip_bad", "overwrite", "progress", "splits")


def converter_options(dataset: str) -> Dict[str, Any]:
    """The dataset-specific keyword options of a converter and their defaults."""
    converter = _get(dataset)
    return {name: p.default for name, p in inspect.signature(converter).parameters.items() if name not in _COMMON}


def declared_options(dataset: str) -> Tuple[Option, ...]:
    """The ``mgclr prepare`` flags a converter declares for its own keywords (none: an empty tuple)."""
    return getattr(_get(dataset), "cli_options", ())


def prepare(dataset: str, src: Union[str, Path], dst: Union[str, Path], **options: Any) -> ConversionReport:
    """Convert ``dataset``'s files at ``src`` into an mgclr dataset at ``dst``; ``options`` are the
    converter's keywords (``skip_bad``, ``overwrite``, ``progress``, ``splits`` and its own, see
    :func:`converter_options`). An option the converter does not take is an error naming the ones it does."""
    converter = _get(dataset)
    accepted = inspect.signature(converter).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        own = sorted(converter_options(dataset))
        raise ValueError(f"{', '.join(unknown)}: not an option of the {dataset} converter; it takes "
                         f"{', '.join(own) if own else 'no option of its own'} (and {', '.join(_COMMON[2:])})")
    check_dst_folder(dst)  # before the converter reads anything
    return converter(src, dst, **options)


def _get(dataset: str) -> Callable[..., ConversionReport]:
    if dataset not in CONVERTERS:
        raise ValueError(f"dataset: expected one of {', '.join(CONVERTERS)}, got {dataset!r}")
    return CONVERTERS[dataset]
