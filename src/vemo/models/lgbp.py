"""The ISED paper's benchmark: LGBP features (Local Gabor Binary Patterns) + PCA + LDA.

Happy et al. describe faces by LBP histograms of Gabor magnitude responses; this follows that
recipe with standard choices (3 frequencies x 4 orientations of skimage Gabor kernels, uniform
LBP with 8 neighbours, 4x4 cells on a 64x64 grey face), then scikit-learn's PCA and LDA.

It is registered like the networks, so `vemo train --model lgbp` fits it on the train split and
`vemo evaluate` measures it with the same code. The fitted PCA and LDA are stored as tensors
(safetensors) in the module's buffers; its logits are LDA's decision values.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from skimage.feature import local_binary_pattern
from skimage.filters import gabor_kernel
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from torch import nn

from vemo.models.registry import register_model

FREQUENCIES = (0.08, 0.16, 0.32)
ORIENTATIONS = 4
GRID = 4
LBP_POINTS = 8
LBP_BINS = LBP_POINTS + 2  # "uniform" LBP codes
MISSING_CLASS_LOGIT = -1e9


def gabor_bank() -> list[tuple[np.ndarray, np.ndarray]]:
    """(real, imaginary) float32 kernels of the Gabor filter bank."""
    bank = []
    for frequency in FREQUENCIES:
        for k in range(ORIENTATIONS):
            kernel = gabor_kernel(frequency, theta=np.pi * k / ORIENTATIONS)
            bank.append((np.real(kernel).astype(np.float32), np.imag(kernel).astype(np.float32)))
    return bank


def lgbp_features(images: np.ndarray, bank: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
    """LGBP histograms of (N, H, W) grey images -> (N, filters x cells x bins) float32."""
    bank = bank or gabor_bank()
    n, height, width = images.shape
    features = np.zeros((n, len(bank) * GRID * GRID * LBP_BINS), np.float32)
    rows = np.array_split(np.arange(height), GRID)
    cols = np.array_split(np.arange(width), GRID)
    for i, image in enumerate(images.astype(np.float32)):
        parts = []
        for real, imaginary in bank:
            magnitude = np.hypot(cv2.filter2D(image, -1, real), cv2.filter2D(image, -1, imaginary))
            magnitude = (255 * magnitude / max(float(magnitude.max()), 1e-6)).astype(np.uint8)  # LBP wants integers
            codes = local_binary_pattern(magnitude, LBP_POINTS, 1, method="uniform").astype(np.int64)
            for r in rows:
                for c in cols:
                    cell = codes[r[0] : r[-1] + 1, c[0] : c[-1] + 1]
                    parts.append(np.bincount(cell.ravel(), minlength=LBP_BINS) / cell.size)
        features[i] = np.concatenate(parts)
    return features


class LGBPClassifier(nn.Module):
    """LGBP -> PCA -> LDA, with the fitted linear maps as buffers."""

    def __init__(self, num_classes: int = 4, pca_components: int = 120) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.pca_components = pca_components
        for name in ("pca_mean", "pca_components_", "lda_coef", "lda_intercept"):
            self.register_buffer(name, torch.zeros(0))
        self._bank = gabor_bank()

    @property
    def fitted(self) -> bool:
        return self.lda_coef.numel() > 0

    def fit(self, images: torch.Tensor, labels: torch.Tensor) -> LGBPClassifier:
        """Fit on (N, 1, H, W) raw 0..255 images and class indices."""
        features = lgbp_features(images[:, 0].numpy(), self._bank)
        components = max(1, min(self.pca_components, len(features) - 1, features.shape[1]))
        pca = PCA(n_components=components, random_state=0).fit(features)
        lda = LinearDiscriminantAnalysis().fit(pca.transform(features), labels.numpy())
        coef = np.full((self.num_classes, components), 0.0, np.float32)
        intercept = np.full(self.num_classes, MISSING_CLASS_LOGIT, np.float32)
        if len(lda.classes_) == 2:  # scikit-learn keeps one decision column for two classes
            coef[lda.classes_[1]], intercept[lda.classes_[1]] = lda.coef_[0], lda.intercept_[0]
            intercept[lda.classes_[0]] = 0.0
        else:
            coef[lda.classes_], intercept[lda.classes_] = lda.coef_, lda.intercept_
        self.pca_mean = torch.from_numpy(pca.mean_.astype(np.float32))
        self.pca_components_ = torch.from_numpy(pca.components_.astype(np.float32))
        self.lda_coef = torch.from_numpy(coef)
        self.lda_intercept = torch.from_numpy(intercept)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) float raw 0..255 -> (B, num_classes) LDA decision values."""
        if not self.fitted:
            raise RuntimeError("LGBPClassifier is not fitted")
        images = x[:, 0].round().clamp(0, 255).to(torch.uint8).cpu().numpy()
        features = torch.from_numpy(lgbp_features(images, self._bank)).to(self.pca_mean.device)
        projected = (features - self.pca_mean) @ self.pca_components_.T
        return projected @ self.lda_coef.T + self.lda_intercept

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        for name, value in state_dict.items():  # fitted sizes are known only from the checkpoint
            if name in self._buffers:
                self._buffers[name] = torch.empty_like(value)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


@register_model(
    "lgbp",
    input_size=64,
    color="gray",
    mean=(0.0,),
    std=(1 / 255,),
    kind="classical",
    description="LGBP + PCA + LDA, 64x64 grey (the ISED paper's benchmark)",
)
def lgbp(num_classes: int = 4) -> nn.Module:
    return LGBPClassifier(num_classes)
