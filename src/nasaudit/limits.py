"""Upper bounds on every size a spec, a command-line option or a network option may ask for.

Generous enough for a full-scale GPU run of any of the papers (DARTS evaluation: 600 epochs, 36 channels,
20 cells, batch 96; NB201: 200 epochs; NB101: 108 epochs, 128 stem channels), but finite, so that a typo
such as ``epochs: 1e12`` or ``channels: 1e8`` is refused before anything is computed instead of running for
hours or asking for an allocation of 10^16 bytes (issue #22, item 12). The spec fields and options cite these
names, so a refusal states the bound (pydantic: "Input should be less than or equal to 10000").
"""

from __future__ import annotations

from nasaudit.errors import ConfigError

#: a random seed (numpy, torch and Python all accept it; also the audit's top-level seed)
MAX_SEED = 2**31 - 1
#: training or search epochs of one run
MAX_EPOCHS = 10_000
#: channels (width) of a network or supernet
MAX_CHANNELS = 1024
#: cells, layers, stacks or blocks of a network (depth)
MAX_DEPTH = 64
#: images per mini-batch
MAX_BATCH = 65_536
#: images of a dataset subset (evaluation, ranking, recalibration)
MAX_IMAGES = 10_000_000
#: queries (architectures evaluated) of one search run
MAX_QUERIES = 10_000_000
#: independent runs (seeds) of one comparison
MAX_RUNS = 100_000
#: sampled architectures (training sets of surrogates, random rank sets, derived samples)
MAX_SAMPLES = 1_000_000
#: worker processes or Ray CPUs
MAX_WORKERS = 1024
#: half-width of a loss-landscape plane in filter-normalised units (Li et al. 2018 plot [-1, 1])
MAX_RADIUS = 100.0
#: iterations of an inner loop (controller steps, power iterations)
MAX_STEPS = 100_000
#: a learning rate (SGD on these networks diverges long before)
MAX_LR = 10.0
#: bytes of one text-corpus file read for language modelling (PTB's training file is 5 MB)
MAX_TEXT_BYTES = 256 * 2**20
#: words in a language-modelling vocabulary (PTB: 10,000)
MAX_VOCAB = 1_000_000
#: the BPTT length of a language-model protocol (DARTS: 35)
MAX_BPTT = 10_000

#: the range (lowest, highest) of each whole-number option of the stand-alone networks
#: (``nasaudit.nn.networks.build_network``)
NETWORK_OPTION_LIMITS: dict[str, tuple[int, int]] = {
    "channels": (1, MAX_CHANNELS), "stem_channels": (1, MAX_CHANNELS), "layers": (1, MAX_DEPTH),
    "cells_per_stage": (0, MAX_DEPTH), "stacks": (1, MAX_DEPTH), "cells_per_stack": (0, MAX_DEPTH),
    "stem_multiplier": (1, 16), "stem_stride": (1, 16),
}


def check_at_most(name: str, value: float, bound: float) -> None:
    """Refuse ``value`` above ``bound`` with a one-line ``ConfigError`` stating the bound."""
    if value > bound:
        raise ConfigError(f"{name} must be at most {bound:,}, got {value:,}")
