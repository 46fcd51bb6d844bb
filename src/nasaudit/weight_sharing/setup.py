"""The settings every weight-sharing method of a comparison shares (search-phase paper Sec. 3.1, 4.1-4.3, Tables
3-4); the methods themselves are ``base.WeightSharingMethod`` subclasses, one module each, with their own settings.

Methods that share a training (DARTS with alpha and with PT selection) are one job per seed that derives both. A
setup is plain JSON values (lists as lists) so that it is the identity of a resumable job in the results store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nasaudit.errors import ConfigError, NasauditError
from nasaudit.jobs.job import Options, OptionValue, absent_means, freeze_options, from_identity, identity

if TYPE_CHECKING:
    from nasaudit.data.splits import DatasetSplits
    from nasaudit.data.text import TextCorpus
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.truth.builder import BuildSpec
    from nasaudit.weight_sharing.differentiable.config import SearchConfig
    from nasaudit.weight_sharing.supernet.training import SupernetConfig

#: the supernet every method of one comparison trains, per preset and space family: width, depth (NB201: cells
#: per stage; DARTS: cells; NB101: cells per stack) and batch size. ``paper`` is the search network NAS-Bench-201
#: trains all its weight-sharing baselines with (Dong & Yang 2020, Sec. 5; D-X-Y/AutoDL-Projects at a84f483:
#: ``scripts-search/NAS-Bench-201-algos/*.sh`` channel=16 num_cells=5, ``configs/nas-benchmark/algos/*.config``
#: batch_size 64) and, for DARTS spaces, the DARTS search network (Liu et al. 2019, Sec. 3.1.1: 16 channels, 8
#: cells, batch 64); NB101 (SPOS only) keeps the supernet size M; RNN spaces: ``channels`` is the embedding and
#: hidden size, ``depth`` the cell layers (one, as DARTS and ENAS), ``paper`` DARTS's ``rnn/train_search.py``
#: (300 units, batch 256; search-phase paper App. C.6 keeps it). ``tiny``: CPU sized. One size for every method,
#: so that their budgets compare (search-phase paper Sec. 3.1). Each method keeps its own optimiser settings.
SUPERNET_SIZES: dict[str, dict[str, dict[str, int]]] = {
    "tiny": {"nb201": {"channels": 8, "depth": 1, "batch_size": 64},
             "darts": {"channels": 8, "depth": 3, "batch_size": 64},
             "nb101": {"channels": 8, "depth": 1, "batch_size": 64},
             "rnn": {"channels": 32, "depth": 1, "batch_size": 32}},
    "paper": {"nb201": {"channels": 16, "depth": 5, "batch_size": 64},
              "darts": {"channels": 16, "depth": 8, "batch_size": 64},
              "nb101": {"channels": 32, "depth": 3, "batch_size": 64},
              "rnn": {"channels": 300, "depth": 1, "batch_size": 256}},
}
_DEPTH_UNIT = {"nb201": "cell(s) per stage", "darts": "cell(s)", "nb101": "cell(s) per stack", "rnn": "cell layer(s)"}
_WIDTH_UNIT = {"rnn": "hidden units"}


@dataclass(frozen=True)
class WSSetup:
    """Everything one seed of a weight-sharing training depends on (JSON values; the job's identity).

    ``space``/``mask``/``max_vertices``: the registered space, the ops removed from it (kept sorted: a set) and
    (NB101) its vertex limit; ``within``: the architecture strings whose equivalence classes form the reduced
    space searched (empty: the whole space). ``epochs``/``channels``/``depth``/``batch_size`` size every
    method's supernet training the same way (``preset``: the defaults of ``SUPERNET_SIZES``, overridden by the
    values given; ``sizes``). ``rank_archs``: the architectures each supernet ranks after every epoch, on
    ``rank_images`` validation images. Lists are tuples of strings (JSON lists in the job's options, never
    packed into one string). A method's own settings are not here: they are its ``settings``
    (``base.WeightSharingMethod.settings_model``), in the job's identity beside the setup (``jobs.WSJob``).

    ``to_options`` is the job's identity (``nasaudit.jobs.job.identity``): every field, except a field added
    later with ``field(default=..., metadata=absent_means(value))`` while it holds ``value``, so adding a
    setting leaves the ids of stored seeds unchanged; ``from_options`` reads such a missing field as ``value``.
    """

    space: str
    mask: tuple[str, ...] = ()
    #: NB101 only: cells of at most this many vertices (search-phase paper Sec. 4.3, reduced spaces)
    max_vertices: int | None = None
    within: tuple[str, ...] = ()
    dataset: str = "embedded"
    data_root: str | None = None
    val_fraction: float = 0.5
    preset: Literal["tiny", "paper"] = "tiny"
    epochs: int = 10
    channels: int | None = None
    depth: int | None = None
    batch_size: int | None = None
    device: str | None = None
    rank_archs: tuple[str, ...] = ()
    rank_images: int = 1000
    #: a text corpus only: at most this many of its first training tokens (quick runs and tests); None: all
    train_tokens: int | None = field(default=None, metadata=absent_means(None))

    def __post_init__(self) -> None:
        for name in ("mask", "within", "rank_archs"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
                    isinstance(item, str) for item in value):
                raise ConfigError(f"weight-sharing {name} must be a list of strings, got {value!r}"[:300])
        object.__setattr__(self, "mask", tuple(sorted(set(self.mask))))
        object.__setattr__(self, "within", tuple(self.within))
        object.__setattr__(self, "rank_archs", tuple(self.rank_archs))
        for name in ("epochs", "rank_images"):
            if getattr(self, name) < 1:
                raise ConfigError(f"weight-sharing {name} must be a positive integer, got {getattr(self, name)}")
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.train_tokens is not None and (self.train_tokens < 2 or not self.is_text):
            raise ConfigError(f"train_tokens ({self.train_tokens}) cuts a text corpus to at least 2 tokens; dataset "
                              f"{self.dataset!r} is {'a text corpus' if self.is_text else 'not one'}")

    @property
    def is_text(self) -> bool:
        """Whether ``dataset`` is a text corpus (``data.text``: the RNN spaces' data). For a text corpus
        ``rank_images`` counts validation tokens and ``val_fraction`` is unused (the corpus has its own split)."""
        from nasaudit.data.text import TEXT_DATASETS

        return self.dataset in TEXT_DATASETS

    def load_corpus(self) -> TextCorpus:
        """The text corpus ``dataset`` (from ``data_root``), its training split cut to ``train_tokens``."""
        from nasaudit.data.text import load_text_corpus

        corpus = load_text_corpus(self.dataset, self.data_root)
        if self.train_tokens is None or self.train_tokens >= corpus.train.numel():
            return corpus
        return corpus.prefix(self.train_tokens, corpus.valid.numel(), corpus.test.numel())

    def load_data(self, seed: int) -> DatasetSplits | TextCorpus:
        """The data of one seed: the image splits with the seed's validation hold-out
        (``data.loading.load_dataset``), or the text corpus (``load_corpus``), whose splits are fixed."""
        if self.is_text:
            return self.load_corpus()
        from nasaudit.data.loading import load_dataset

        return load_dataset(self.dataset, self.data_root, val_fraction=self.val_fraction, seed=seed)

    def base_space(self) -> SearchSpace:
        """The space searched before any reduction: the registered space without ``mask`` (NB101: at most
        ``max_vertices`` vertices, as its supernet builds it)."""
        from nasaudit.spaces.registry import get_space

        space = get_space(self.space)
        if space.family == "rnn":
            try:
                return space.without(self.masked)
            except NasauditError as err:
                raise ConfigError(str(err)) from None
        return self.single_path_config(space).make_space()

    def sizes(self, family: str) -> dict[str, int]:
        """Width (``channels``), ``depth`` and ``batch_size`` of every method's supernet in a space of ``family``:
        the preset's, overridden by the values the setup gives."""
        sizes = dict(SUPERNET_SIZES[self.preset][family])
        sizes.update({k: getattr(self, k) for k in ("channels", "depth", "batch_size") if getattr(self, k)})
        return sizes

    def describe_sizes(self, family: str) -> str:
        """The supernet size in words, e.g. ``8 channels, 1 cell(s) per stage, batch 64``."""
        sizes = self.sizes(family)
        width = _WIDTH_UNIT.get(family, "channels")
        return f"{sizes['channels']} {width}, {sizes['depth']} {_DEPTH_UNIT[family]}, batch {sizes['batch_size']}"

    @property
    def masked(self) -> tuple[str, ...]:
        """The ops removed from the space (``mask``)."""
        return self.mask

    @property
    def within_archs(self) -> list[str]:
        """The architectures whose classes form the reduced space (``within``), as a list."""
        return list(self.within)

    @property
    def ranked(self) -> list[str]:
        """The architectures ranked after every epoch (``rank_archs``), as a list."""
        return list(self.rank_archs)

    def search_config(self, algorithm: str) -> SearchConfig:
        """The differentiable search (``algorithm`` of ``SearchConfig``) of this setup: its preset, space, mask and
        the supernet size every method shares (``sizes``)."""
        from dataclasses import replace

        from nasaudit.spaces.registry import get_space
        from nasaudit.weight_sharing.differentiable.config import SearchConfig

        changes: dict[str, Any] = {"mask": self.masked, "epochs": self.epochs,
                                   **self.sizes(get_space(self.space).family)}
        if self.max_vertices is not None:  # NB101's vertex limit
            changes["max_vertices"] = self.max_vertices
        if self.preset == "tiny":
            return SearchConfig.tiny(algorithm, self.space, **changes)
        return replace(SearchConfig(algorithm=algorithm, space=self.space), **changes)

    def single_path_config(self, space: SearchSpace) -> SupernetConfig:
        """The single-path supernet of this setup in ``space`` (its family's), of the size every method shares
        (``sizes``: the width and depth override the supernet size's own); strictly fair sampling on NB201 (single-path
        paper Sec. 3.3), uniform elsewhere."""
        from nasaudit.weight_sharing.supernet.training import SupernetConfig

        sizes: dict[str, Any] = self.sizes(space.family)
        sampling = "fair" if space.family == "nb201" else "uniform"
        return SupernetConfig(space=self.space, mask=self.masked, sampling=sampling, epochs=self.epochs,
                              max_vertices=self.max_vertices, **sizes)

    def to_options(self) -> Options:
        """The setup as job options: its identity, nested JSON values (see the class docstring)."""
        return freeze_options(identity(self))

    @classmethod
    def from_options(cls, options: Mapping[str, OptionValue]) -> WSSetup:
        """Inverse of ``to_options``; an unknown name is a ``ConfigError``."""
        return from_identity(cls, options, "weight-sharing setting")


def build_epochs(build: BuildSpec) -> int:
    """Epochs of one stand-alone training of ``build`` (a truth's recipe): its protocol's, or the options' override,
    as ``truth.builder.train_job`` trains; a language-model protocol (RNN spaces) is read as such."""
    from nasaudit.train.lm import LM_PROTOCOLS
    from nasaudit.train.protocols import get_protocol

    protocol = LM_PROTOCOLS.get(build.protocol) or get_protocol(build.protocol)
    overrides = {k: v for k, v in dict(build.options).items() if k in type(protocol).__dataclass_fields__}
    return (protocol.with_overrides(**overrides) if overrides else protocol).epochs
