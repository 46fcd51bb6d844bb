"""compare in the RNN spaces and in spaces too large to enumerate: what the spec check and the reduced space of
the truth's architectures need (issues #25, #26)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nasaudit.resources import darts_benchmark_path
from nasaudit.spaces import get_space
from nasaudit.spaces.subset import classes_space
from nasaudit.studies._ws_compare import WeightSharingSettings, check_methods


def test_rnn_methods_take_a_text_corpus_and_refuse_images(tmp_path: Path) -> None:
    space = get_space("rnn_reduced")
    ok = check_methods(["darts_rnn", "enas_rnn"], space, WeightSharingSettings(dataset="jargon"), True, tmp_path)
    assert ok == []
    images = check_methods(["darts_rnn"], space, WeightSharingSettings(dataset="fashion8"), True, tmp_path)
    assert len(images) == 1 and "text corpus" in images[0] and "jargon" in images[0]
    ptb = check_methods(["enas_rnn"], space, WeightSharingSettings(dataset="ptb"), True, tmp_path)
    assert len(ptb) == 1 and "data_root" in ptb[0]


def test_image_methods_refuse_a_text_corpus(tmp_path: Path) -> None:
    problems = check_methods(["enas"], get_space("nb201"), WeightSharingSettings(dataset="jargon"), False, tmp_path)
    assert len(problems) == 1 and "image dataset" in problems[0]


def test_the_reduced_darts_space_of_a_table_is_its_cells_without_enumerating_the_space() -> None:
    cells = pd.read_csv(darts_benchmark_path())["ArchitectureString"].tolist()
    space = classes_space(get_space("darts"), cells + cells[:5])  # repeats are one class each
    assert space.size == len(cells) == 92
    assert all(space.contains(space.base.coerce(c)) for c in cells[:10])
