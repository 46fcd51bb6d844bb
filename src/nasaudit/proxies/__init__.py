"""Zero-cost proxies: scores of untrained networks from one batch, higher = predicted better (docs/proxies.md).

One module per family, each registering its proxies in ``PROXIES`` (a user's plugin adds its own the same way,
entry-point group ``nasaudit.proxies``): ``gradients`` (grad_norm, snip, grasp, fisher, plain; zero-cost-nas),
``synflow``, ``jacobian`` (jacov, epe_nas, nwot), ``zen`` (Zen-score), ``counts`` (params, flops, l2_norm).
``scoring.score_archs`` scores many architectures, NB201 networks optionally fused into one module
(``_stack.Stack``).
"""

from nasaudit.proxies import counts, gradients, jacobian, synflow, zen
from nasaudit.proxies._base import PROXIES, Batch, Proxy, register_proxy, score_network
from nasaudit.proxies.scoring import ProxySetting, score_archs

__all__ = ["PROXIES", "Batch", "Proxy", "ProxySetting", "counts", "gradients", "jacobian", "register_proxy",
           "score_archs", "score_network", "synflow", "zen"]
