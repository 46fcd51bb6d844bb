"""The seam every weight-sharing method of the fair comparison plugs into: one subclass of
``WeightSharingMethod`` per method, registered by defining it (search-phase paper Sec. 3.1, 4.2-4.3).

A method written in a user's own module registers itself when that module is imported, and then runs in
``compare`` beside the shipped ones (``examples/plugins/random_supernet.py``; ``docs/plugins.md``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from nasaudit import plugins
from nasaudit.errors import ConfigError
from nasaudit.registry import Registry

if TYPE_CHECKING:
    from pathlib import Path

    from nasaudit.data.splits import DatasetSplits
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.setup import WSSetup


class MethodSettings(BaseModel):
    """Base of a method's own settings (``WeightSharingMethod.settings_model``): a frozen pydantic model that
    refuses unknown keys; each field has a default and its bounds. A setting added later takes
    ``Field(default, json_schema_extra=absent_means(default))`` (``nasaudit.jobs.job``), so that the jobs stored
    before keep their ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoSettings(MethodSettings):
    """The settings of a method that has none of its own."""


@dataclass
class Trained:
    """What ``WeightSharingMethod.train`` hands to ``derive``: the shared-weight scores of the setup's ranked
    architectures after each ranked epoch, and ``state``, whatever the method's ``derive`` needs (a searched
    supernet and its alphas, a supernet evaluator, a controller)."""

    rank_epochs: list[int] = field(default_factory=list)
    rank_scores: list[list[float]] = field(default_factory=list)
    state: Any = None


class WeightSharingMethod:
    """Base class of the weight-sharing methods (a method trains a supernet and derives an architecture from it).

    A method is a subclass that sets the class attributes ``name`` (the name a spec's ``strategies`` list and
    the command line use), ``description`` (one line), ``families`` (the space families it is defined on:
    ``nb201``, ``darts``, ``nb101``), if it differs from ``name``, ``training``, and if it has settings of its
    own, ``settings_model`` (a ``MethodSettings`` subclass: a spec gives them under
    ``weight_sharing.methods.<name>``, an instance holds them validated as ``settings``); and implements
    ``train``, ``derive`` and ``cost``. Defining the subclass registers it in ``WS_METHODS``
    (``__init_subclass__``), so a method in a user's module is known as soon as the module is imported. A
    subclass without a ``name`` of its own is an intermediate base and is not registered.

    One seed of the comparison runs a method as follows.

    1. Before any compute, when a spec is read: the method's settings are validated (``get_method``: a bad value
       is one line naming the method and the setting) and ``check(space, reduced=...)`` runs for the audit's
       space; a method that cannot run there answers one line saying why (the whole spec is refused with it).
    2. The comparison groups the requested methods by ``training``: methods that differ only in how they derive
       the final architecture from one supernet (DARTS with alpha and with PT selection) name the same
       ``training``, and run as one resumable job per seed, trained once. Methods sharing a training must
       share ``train`` (checked at registration). The job's identity holds the common setup and the settings of
       the group's methods.
    3. In that job (a worker process: one torch thread), on the seed's data split: ``train(setup, space,
       splits, seed, work_dir)`` of the group's first method trains the supernet under ``setup`` (the size and
       epochs every method of the comparison shares: ``WSSetup.sizes``), scores the setup's ranked
       architectures with the shared weights after the epochs of ``ranked_epochs`` (the audit's measurement of
       the supernet, search-phase paper App. D.2) and returns a ``Trained``. ``work_dir`` (or ``None``) is the
       job's own folder for checkpoints: a method that checkpoints there resumes a killed seed; every random
       choice takes ``seed``.
    4. ``derive(trained, setup, space, splits, seed)`` of every method of the group returns its final
       architecture in ``space``'s string format; ``space`` is the space searched (a reduced ``SubsetSpace``
       when the spec searches within the truth's architectures).
    5. Outside the job, when the tables are written: ``cost(setup)``, the method's counted work of one seed in
       forward multiply-adds (``nasaudit.weight_sharing.cost``: counted, not timed), and
       ``describe_cost(setup, family)``, its budget in its own units, for the summary's cost column and the
       comparison with random search at equal cost.

    ``without_sharing`` names the query-based strategy that runs the same search policy with the truth as
    evaluator (search-phase paper Table 4), or is ``None``; the comparison pairs them when both run.
    """

    #: the name a spec and the command line use (set by every registered subclass)
    name: ClassVar[str]
    #: one line for listings and the report
    description: ClassVar[str] = ""
    #: the space families the method is defined on
    families: ClassVar[tuple[str, ...]] = ()
    #: the families on which it also searches within a reduced space of the truth's architectures
    reduced_families: ClassVar[tuple[str, ...]] = ("nb201",)
    #: methods of one training share its job per seed (defaults to ``name``)
    training: ClassVar[str]
    #: the query-based strategy with the same search policy, or None
    without_sharing: ClassVar[str | None] = None
    #: the model of the method's own settings (the default: none)
    settings_model: ClassVar[type[MethodSettings]] = NoSettings
    #: the method's settings, validated by ``settings_model``
    settings: MethodSettings

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        """The method with ``settings`` (its ``settings_model``'s defaults where not given); a bad or unknown
        setting is one ``ConfigError`` line naming the method and the setting."""
        try:
            self.settings = self.settings_model.model_validate(dict(settings or {}))
        except ValidationError as err:
            raise ConfigError("; ".join(self._setting_problem(error) for error in err.errors())) from None

    def _setting_problem(self, error: Any) -> str:
        where = ".".join(str(part) for part in error["loc"]) or "(settings)"
        if error["type"] == "extra_forbidden":
            return (f"{self.name}.{where}: unknown setting of {self.name}; valid: "
                    f"{sorted(self.settings_model.model_fields) or 'none'}")
        return f"{self.name}.{where}: {error['msg']} (got {error['input']!r})"[:300]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            return
        if not hasattr(cls, "training"):
            cls.training = cls.name
        if not isinstance(cls.name, str) or not cls.name or not cls.families or not cls.description:
            raise ConfigError(f"weight-sharing method {cls.__qualname__} needs a name, a description and families")
        if cls.name in WS_METHODS and plugins.loading() is None:
            known = WS_METHODS.get(cls.name)
            if (known.__qualname__, _source(known)) == (cls.__qualname__, _source(cls)):
                return  # the same file imported again by hand (under any module name): the first stays
        for other in (WS_METHODS.get(n) for n in WS_METHODS.names()):
            if other.name != cls.name and other.training == cls.training and other.train is not cls.train:
                raise ConfigError(f"weight-sharing method {cls.name!r} names the training {cls.training!r} of "
                                  f"{other.name!r} but trains differently")
        WS_METHODS.add(cls.name, cls, cls.description)  # a name taken by another definition: one line

    def check(self, space: SearchSpace, *, reduced: bool = False) -> str | None:
        """Why the method cannot run in ``space`` (searching within the truth's architectures if ``reduced``),
        in one line, or None."""
        if space.family not in self.families:
            return f"{self.name} is defined on {list(self.families)} spaces, not {space.name!r}"
        if reduced and space.family not in self.reduced_families:
            return (f"{self.name} searches within the truth's architectures on {list(self.reduced_families)} "
                    f"spaces only, not {space.name!r}")
        return None

    def train(self, setup: WSSetup, space: SearchSpace, splits: DatasetSplits, seed: int,
              work_dir: Path | None) -> Trained:
        """Train the supernet of one seed and rank the setup's architectures after the ranked epochs (step 3)."""
        raise NotImplementedError

    def derive(self, trained: Trained, setup: WSSetup, space: SearchSpace, splits: DatasetSplits,
               seed: int) -> str:
        """The final architecture of one seed, in ``space``'s format (step 4)."""
        raise NotImplementedError

    def cost(self, setup: WSSetup) -> float:
        """Counted forward multiply-adds of one seed (step 5; ``nasaudit.weight_sharing.cost``)."""
        raise NotImplementedError

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        """The budget of one seed in the method's own units and the size of its supernet (search-phase paper
        Sec. 3.1: stated, so that comparisons are fair). Subclasses add their own queries."""
        return f"{setup.epochs} supernet epochs ({setup.describe_sizes(family)})"


def _source(cls: type) -> str:
    """The file that defines ``cls`` (its module's name if it has none)."""
    return str(getattr(sys.modules.get(cls.__module__), "__file__", None) or cls.__module__)


#: every weight-sharing method, shipped or a user's, by name: the classes (``get_method`` gives an instance)
WS_METHODS: Registry[type[WeightSharingMethod]] = Registry("weight-sharing method")


def get_method(name: str, settings: Mapping[str, Any] | None = None) -> WeightSharingMethod:
    """The registered method ``name`` with ``settings`` (its defaults where not given); an unknown name is one
    ConfigError line with a suggestion, a bad setting one line naming the method and the setting."""
    return WS_METHODS.get(name)(settings)


def training_rows(methods: list[str]) -> dict[str, list[str]]:
    """The requested methods grouped by the training they share, in the order first requested."""
    grouped: dict[str, list[str]] = {}
    for name in methods:
        grouped.setdefault(WS_METHODS.get(name).training, []).append(name)
    return grouped


def without_sharing_pairs(methods: list[str]) -> dict[str, str]:
    """Method -> the query-based strategy with its search policy, for each of ``methods`` (in their order) that
    has one."""
    return {name: counterpart for name in methods
            if (counterpart := WS_METHODS.get(name).without_sharing) is not None}


def source_digests(methods: list[str]) -> tuple[str, ...]:
    """The sha256 of the file defining each of ``methods`` that is not the package's own (a user's plugin), in
    order: part of a seed's job identity, so that editing the plugin retrains its seeds (the package's own methods
    are covered by its version, and leave the ids of their jobs as they were)."""
    from nasaudit.jobs.provenance import file_sha256

    out = []
    for name in methods:
        cls = WS_METHODS.get(name)
        if cls.__module__ == "nasaudit" or cls.__module__.startswith("nasaudit."):
            continue
        source = getattr(sys.modules.get(cls.__module__), "__file__", None)
        if source is None:
            raise ConfigError(f"weight-sharing method {name!r} has no source file to key its results by")
        out.append(file_sha256(source))
    return tuple(out)


def ranked_epochs(epochs: int, points: int = 10) -> list[int]:
    """At most ``points`` epochs, evenly spread and always including the last (App. D.2 rank changes)."""
    return sorted({round(float(e)) for e in np.linspace(1, epochs, min(points, epochs))})
