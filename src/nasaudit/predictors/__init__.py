"""Performance predictors: regressors from an architecture encoding to its accuracy (White et al. 2021, "How
powerful are performance predictors in NAS?").

``EnsemblePredictor`` is the BANANAS MLP ensemble on feature matrices (used by the BANANAS strategy and the
surrogate benchmark); ``PREDICTORS`` names predictors that fit on architectures of a space
(``PREDICTORS.get(name)(space).fit(archs, scores, seed).predict(archs)``), plugins' included.
"""

from __future__ import annotations

from nasaudit.predictors.ensemble import EnsemblePredictor
from nasaudit.predictors.registry import GBT_DEFAULTS, PREDICTORS, Predictor, SpacePredictor, space_encoding

__all__ = ["GBT_DEFAULTS", "PREDICTORS", "EnsemblePredictor", "Predictor", "SpacePredictor", "space_encoding"]
