"""A config resolved for its data, once: the :class:`Experiment` every command runs.

:func:`resolve` reads the splits a config names (once), takes the dataset's description of itself, and fills
every value the config leaves to the data or to the recipe (:mod:`mgclr.train.recipe`: batch size, queue
sizes, epochs, warm-up, kNN's k, ``out_frames: auto``), recording where each came from. Pretraining, the
evaluation protocols, ``mgclr bench`` and ``mgclr sweep`` take either a config (and resolve it) or an
:class:`Experiment` (and read nothing again), so a command that pretrains and then evaluates loads its data
once, and nothing left ``None`` or ``auto`` reaches a builder.

The provenance travels with the run: the ``config.yaml`` written beside its checkpoints carries one comment
per filled value (``queue_size: 64  # recipe: the largest power of two <= N / 4 for N = 284, ...``), written by
:func:`mgclr.train.config.config_to_yaml`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from ..data.info import DatasetInfo
from .build import load_splits
from .config import ExperimentConfig, config_to_dict, config_to_yaml
from .recipe import recipe_choices

__all__ = ["Experiment", "resolve"]


@dataclass(frozen=True)
class Experiment:
    """``config`` with every automatic value filled for ``train_set``; ``info`` the data's description;
    ``notes`` the recipe's choices as ``mgclr pretrain`` prints them; ``provenance`` ``{dotted key: source}``
    for every value the config did not give (``recipe: ...`` or ``data: ...``)."""

    config: ExperimentConfig
    train_set: Any
    test_set: Any
    info: DatasetInfo
    notes: Tuple[str, ...] = ()
    provenance: Mapping[str, str] = field(default_factory=dict)

    def with_config(self, **changes: Any) -> Experiment:
        """This experiment with ``dataclasses.replace(config, **changes)`` on the same splits (a probe's
        ``linear`` section, a run's ``output``): the data section cannot change."""
        if "data" in changes:
            raise ValueError("data: an Experiment's splits are read from its data section; resolve another "
                             "config for other data")
        return dataclasses.replace(self, config=dataclasses.replace(self.config, **changes))

    def with_checkpoint_config(self, config: ExperimentConfig, source: str) -> Experiment:
        """This experiment with the config whose shapes a checkpoint rules (``config_for_checkpoint`` of
        :mod:`mgclr.train.run`): a filled value the checkpoint changed says ``checkpoint: PATH`` instead of the
        recipe's reason."""
        before, after = config_to_dict(self.config), config_to_dict(config)
        provenance = {key: why if _value_at(before, key) == _value_at(after, key) else f"checkpoint: {source}"
                      for key, why in self.provenance.items()}
        return dataclasses.replace(self, config=config, provenance=provenance)

    def config_yaml(self) -> str:
        """The resolved config as YAML, each filled value commented with its source."""
        return config_to_yaml(self.config, self.provenance)


def resolve(config: Union[ExperimentConfig, Experiment], *, data: Optional[Experiment] = None) -> Experiment:
    """The :class:`Experiment` of ``config`` (an :class:`Experiment` is returned as it is). ``data``: an
    experiment on the same ``data`` section whose splits are used instead of reading them again (a sweep's
    runs differ in their augmentation only)."""
    if isinstance(config, Experiment):
        return config
    if data is not None:
        if dataclasses.replace(data.config.data, batch_size=None) != dataclasses.replace(config.data, batch_size=None):
            raise ValueError("data: resolve(config, data=...) takes the splits of an experiment on the same data "
                             "section; this config reads other data")
        train_set, test_set, info = data.train_set, data.test_set, data.info
    else:
        train_set, test_set, info = load_splits(config.data)
    resolved, notes, why = recipe_choices(config, train_set)
    provenance = {key: f"recipe: {reason}" for key, reason in why.items()}
    provenance.update(_from_the_data(config, info))
    return Experiment(resolved, train_set, test_set, info, tuple(notes), provenance)


def _from_the_data(config: ExperimentConfig, info: DatasetInfo) -> Dict[str, str]:
    """The data keys a config leaves out, with the value the dataset's description gives (the builders read
    them from ``info``)."""
    data = config.data
    given = {"layout": data.layout, "coord_channels": data.coord_channels, "num_persons": data.num_persons}
    values = {"layout": info.layout.name, "coord_channels": info.coord_channels, "num_persons": info.persons}
    return {f"data.{key}": f"data: {values[key]}, from {info.source}" for key, value in given.items() if value is None}


def _value_at(data: Mapping[str, Any], key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data
