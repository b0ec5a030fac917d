"""The LGBP + PCA + LDA baseline: it equals scikit-learn's LDA, learns, and survives a save."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from vemo.models import create_model
from vemo.models.lgbp import lgbp_features


def separable_faces(n_per_class: int = 15, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Grey 64x64 images whose classes differ in texture orientation and frequency."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:64, 0:64]
    images, labels = [], []
    for label, (fx, fy) in enumerate([(0.25, 0.0), (0.0, 0.25), (0.12, 0.12), (0.45, 0.0)]):
        for _ in range(n_per_class):
            phase = rng.uniform(0, 2 * np.pi)
            pattern = 128 + 60 * np.sin(2 * np.pi * (fx * xx + fy * yy) + phase) + rng.normal(0, 20, (64, 64))
            images.append(np.clip(pattern, 0, 255))
            labels.append(label)
    return torch.tensor(np.array(images)[:, None], dtype=torch.uint8), torch.tensor(labels)


def test_baseline_beats_chance_on_separable_classes():
    x, y = separable_faces(seed=0)
    x_test, y_test = separable_faces(seed=1)
    model = create_model("lgbp", num_classes=4).fit(x, y)
    accuracy = float((model(x_test.float()).argmax(1) == y_test).float().mean())
    assert accuracy >= 0.8, accuracy


def test_logits_are_scikit_learns_decision_values_and_survive_a_reload():
    x, y = separable_faces(n_per_class=8, seed=2)
    model = create_model("lgbp", num_classes=4).fit(x, y)
    features = lgbp_features(x[:, 0].numpy())
    pca = PCA(n_components=model.pca_components_.shape[0], random_state=0).fit(features)
    lda = LinearDiscriminantAnalysis().fit(pca.transform(features), y.numpy())
    expected = lda.decision_function(pca.transform(features))
    np.testing.assert_allclose(model(x.float()).numpy(), expected, rtol=1e-3, atol=1e-3)
    reloaded = create_model("lgbp", num_classes=4)
    reloaded.load_state_dict(model.state_dict())
    assert torch.allclose(reloaded(x.float()), model(x.float()))
