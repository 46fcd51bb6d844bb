"""The proxy registry, its one-line errors, the seeded scoring of many cells and the ``proxy`` evaluator kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasaudit.errors import ConfigError
from nasaudit.proxies import PROXIES, Proxy, ProxySetting, register_proxy, score_archs
from nasaudit.spaces import get_space
from nasaudit.testing.context import tiny_context

SHIPPED = {"grad_norm", "snip", "grasp", "fisher", "plain", "synflow", "jacov", "epe_nas", "nwot", "zen", "params",
           "flops", "l2_norm"}
CELLS = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
         "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|")


def test_every_shipped_proxy_is_registered_with_its_paper_and_release() -> None:
    assert set(PROXIES.names()) >= SHIPPED
    for name in SHIPPED:
        proxy = PROXIES.get(name)
        assert proxy.name == name and "Sec." in proxy.paper and proxy.reference


def test_an_unknown_proxy_is_one_line_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"unknown proxy 'synflw' \(did you mean 'synflow'\?\)") as err:
        PROXIES.get("synflw")
    assert "\n" not in str(err.value)


def test_a_proxy_registers_once_and_must_be_a_proxy() -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register_proxy("snip", "x Sec. 1", "x@1")(lambda stack, batch, loss: np.zeros(stack.models))
    with pytest.raises(ConfigError, match="expected a Proxy"):
        PROXIES.add("not_a_proxy", object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="its name is"):
        PROXIES.add("other_name", Proxy("snip", lambda *a: np.zeros(1), "p", "r"))


def test_bigger_networks_score_higher_on_the_size_proxies() -> None:
    space = get_space("nb201")
    for name in ("params", "flops", "synflow"):
        convs, skips = score_archs(list(CELLS), space, ProxySetting(name, dataset="embedded", batch_size=8))
        assert convs > skips, name


def test_scores_are_seeded_and_independent_of_fusion() -> None:
    space = get_space("nb201")
    archs = space.sample_many(5, 3)
    setting = ProxySetting("snip", dataset="embedded", batch_size=8, seed=2)
    once = score_archs(archs, space, setting)
    assert np.array_equal(once, score_archs(archs, space, setting))  # two runs, same bytes
    np.testing.assert_allclose(score_archs(archs, space, setting, fuse=5), once, rtol=1e-5)
    assert not np.allclose(score_archs(archs, space, ProxySetting("snip", dataset="embedded", batch_size=8, seed=3)),
                           once)
    # a cell's score does not depend on the cells scored with it
    assert score_archs(archs[2:3], space, setting)[0] == once[2]


def test_the_proxy_evaluator_stores_each_score_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nasaudit.proxies.evaluator as evaluator_module

    context = tiny_context(tmp_path, evaluators={"p": {"kind": "proxy", "proxy": "grad_norm", "dataset": "embedded",
                                                       "batch_size": 8}})
    archs = context.space.sample_many(4, 0)
    first = context.scored("p").evaluator.evaluate(archs)
    assert first.shape == (4,) and np.all(np.isfinite(first))
    monkeypatch.setattr(evaluator_module, "score_jobs", lambda jobs: pytest.fail("scored again"))
    assert np.array_equal(context.scored("p").evaluator.evaluate(archs[::-1]), first[::-1])


@pytest.mark.parametrize(("fields", "message"), [
    ({"proxy": "snipp"}, "unknown proxy 'snipp' (did you mean 'snip'?)"),
    ({"dataset": "cifar10"}, "needs data_root"),
    ({"dataset": "imagenet"}, "unknown dataset"),
    ({"device": "gpu0"}, "not a torch device: 'gpu0'"),
])
def test_a_bad_proxy_evaluator_is_one_line(tmp_path: Path, fields: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        tiny_context(tmp_path, evaluators={"p": {"kind": "proxy", **fields}})
    assert message in str(err.value) and "\n" not in str(err.value)
