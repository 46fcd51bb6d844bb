"""An ensemble of small MLP regressors: mean and spread of the members (BANANAS, White et al. 2021, Sec. 4).

BANANAS predicts accuracy from an architecture encoding with an ensemble of feed-forward networks
that differ only in their random initialisation, and uses the members' spread as the uncertainty of its
acquisition function. All members train together in numpy: each layer is one batched matmul over
``(members, samples, units)``, and Adam updates one flat parameter vector.

Scikit-learn-like: ``fit(X, y)`` returns the predictor, ``predict(X)`` the ensemble mean,
``predict_std(X)`` the standard deviation over members.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from nasaudit.errors import ConfigError, DataError
from nasaudit.seeding import SeedLike, as_generator


class EnsemblePredictor:
    """``n_members`` ReLU MLPs trained full-batch with Adam on the squared error of standardised targets."""

    #: gradient views into the flat gradient vector, one per weight / bias array (set by ``fit``)
    _grad_w: list[np.ndarray]
    _grad_b: list[np.ndarray]

    def __init__(self, n_members: int = 5, hidden_sizes: Sequence[int] = (32, 32), epochs: int = 200,
                 learning_rate: float = 0.01, seed: SeedLike = 0) -> None:
        if n_members < 1 or epochs < 1 or learning_rate <= 0 or any(h < 1 for h in hidden_sizes):
            raise ConfigError("EnsemblePredictor needs n_members >= 1, epochs >= 1, learning_rate > 0 "
                              f"and positive hidden sizes; got {n_members}, {epochs}, {learning_rate}, "
                              f"{list(hidden_sizes)}")
        self.n_members = n_members
        self.hidden_sizes = tuple(hidden_sizes)
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.seed = seed
        self._weights: list[np.ndarray] = []
        self._biases: list[np.ndarray] = []

    # ----------------------------------------------------------------- public API
    def fit(self, X: np.ndarray, y: np.ndarray) -> EnsemblePredictor:
        """Train every member on ``(X, y)``; same seed and data give the same predictor."""
        features, targets = _check_xy(X, y)
        self._x_mean = features.mean(axis=0)
        self._x_scale = np.where(features.std(axis=0) > 0, features.std(axis=0), 1.0)
        self._y_mean = float(targets.mean())
        self._y_scale = float(targets.std()) or 1.0
        inputs = (features - self._x_mean) / self._x_scale
        standard = ((targets - self._y_mean) / self._y_scale)[None, :, None]
        theta, grad = self._init_parameters(inputs.shape[1], as_generator(self.seed))
        first, second = np.zeros_like(theta), np.zeros_like(theta)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        for step in range(1, self.epochs + 1):
            self._gradient(inputs, standard, grad)
            first += (1 - beta1) * (grad - first)
            second += (1 - beta2) * (grad * grad - second)
            rate = self.learning_rate * np.sqrt(1 - beta2**step) / (1 - beta1**step)
            theta -= rate * first / (np.sqrt(second) + eps)
        return self

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        """Each member's prediction, shape ``(n_members, n_samples)``."""
        if not self._weights:
            raise ConfigError("EnsemblePredictor is not fitted; call fit(X, y) first")
        features = np.asarray(X, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] != self._x_mean.size:
            raise DataError(f"X must have shape (n, {self._x_mean.size}), got {features.shape}")
        activations = self._forward((features - self._x_mean) / self._x_scale)
        return activations[-1][:, :, 0] * self._y_scale + self._y_mean

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Ensemble mean prediction, one value per row of ``X``."""
        return self.predict_members(X).mean(axis=0)

    def predict_std(self, X: np.ndarray) -> np.ndarray:
        """Standard deviation of the members' predictions (the ensemble's uncertainty)."""
        return self.predict_members(X).std(axis=0)

    # ----------------------------------------------------------------- internals
    def _init_parameters(self, n_inputs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """He-normal weights, zero biases; all parameters are views into one flat vector."""
        sizes = [n_inputs, *self.hidden_sizes, 1]
        shapes = [((self.n_members, a, b), (self.n_members, 1, b)) for a, b in itertools.pairwise(sizes)]
        total = sum(int(np.prod(w)) + int(np.prod(b)) for w, b in shapes)
        theta, grad = np.zeros(total), np.zeros(total)
        self._weights, self._biases, self._grad_w, self._grad_b = [], [], [], []
        offset = 0
        for layer, (w_shape, b_shape) in enumerate(shapes):
            for shape, params, grads in ((w_shape, self._weights, self._grad_w),
                                         (b_shape, self._biases, self._grad_b)):
                size = int(np.prod(shape))
                params.append(theta[offset:offset + size].reshape(shape))
                grads.append(grad[offset:offset + size].reshape(shape))
                offset += size
            gain = 2.0 if layer < len(shapes) - 1 else 1.0
            self._weights[-1][...] = rng.normal(0.0, np.sqrt(gain / w_shape[1]), size=w_shape)
        return theta, grad

    def _forward(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Activations of every layer; the hidden ones after ReLU, the last one linear."""
        activations = [inputs]
        for layer, (w, b) in enumerate(zip(self._weights, self._biases, strict=True)):
            z = np.matmul(activations[-1], w) + b
            activations.append(np.maximum(z, 0.0) if layer < len(self._weights) - 1 else z)
        return activations

    def _gradient(self, inputs: np.ndarray, targets: np.ndarray, grad: np.ndarray) -> None:
        """Write d(mean squared error)/d(parameters) of every member into ``grad`` (via its views)."""
        activations = self._forward(inputs)
        delta = (2.0 / inputs.shape[0]) * (activations[-1] - targets)
        for layer in range(len(self._weights) - 1, -1, -1):
            below = activations[layer]
            if below.ndim == 2:
                np.matmul(below.T, delta, out=self._grad_w[layer])
            else:
                np.matmul(below.transpose(0, 2, 1), delta, out=self._grad_w[layer])
            self._grad_b[layer][...] = delta.sum(axis=1, keepdims=True)
            if layer:
                delta = np.matmul(delta, self._weights[layer].transpose(0, 2, 1)) * (below > 0)


def _check_xy(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(X, dtype=np.float64)
    targets = np.asarray(y, dtype=np.float64)
    if features.ndim != 2 or targets.ndim != 1 or features.shape[0] != targets.size:
        raise DataError(f"fit needs X of shape (n, d) and y of shape (n,), got {features.shape} and {targets.shape}")
    if targets.size < 2:
        raise DataError(f"fit needs at least 2 samples, got {targets.size}")
    if not (np.all(np.isfinite(features)) and np.all(np.isfinite(targets))):
        raise DataError("X and y must be finite (no NaN or infinity)")
    return features, targets
