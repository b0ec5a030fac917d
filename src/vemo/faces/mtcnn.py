"""MTCNN (Zhang et al., 2016): a cascade of three small CNNs that finds faces and five landmarks.

P-Net scans an image pyramid for candidate windows, R-Net rejects and refines them on 24x24
crops, O-Net does so again on 48x48 crops and adds the landmarks (eye centres, nose tip, mouth
corners). The layer names follow facenet-pytorch's, whose weights (MIT) vemo loads from its
wheel through `vemo.weights`; the cascade is written here against its published algorithm, with
its conventions kept (box arithmetic, "area" resampling, NMS thresholds) so that the boxes and
landmarks agree with the reference to the pixel.

Several frames of one size go through the pyramid together (`detect_batch`); CPU or CUDA,
whichever device the module is on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SCALE = 0.0078125  # (pixel - 127.5) * SCALE: inputs in -1..1


class PNet(nn.Module):
    """Proposal net: fully convolutional, a face score and box offsets per 12x12 window (stride 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(offsets (B, 4, h, w), probabilities (B, 2, h, w))."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), torch.softmax(self.conv4_1(x), dim=1)


class RNet(nn.Module):
    """Refine net on 24x24 crops: a face score and box offsets."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).flatten(1)))  # the Caffe weights' (W, H, C) order
        return self.dense5_2(x), torch.softmax(self.dense5_1(x), dim=1)


class ONet(nn.Module):
    """Output net on 48x48 crops: a face score, box offsets and five landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(box offsets (N, 4), landmarks (N, 10): five x then five y, as fractions of the box,
        probabilities (N, 2))."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).flatten(1)))
        return self.dense6_2(x), self.dense6_3(x), torch.softmax(self.dense6_1(x), dim=1)


class MTCNN(nn.Module):
    """The three nets; its state dict ("pnet.*", "rnet.*", "onet.*") is what the weights cache holds."""

    def __init__(self) -> None:
        super().__init__()
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()


@dataclass(frozen=True)
class MTCNNSettings:
    """The cascade's knobs, with MTCNN's usual values: smallest face in pixels, the pyramid's
    scale step, and the score each net must give a window to keep it."""

    min_size: int = 20
    factor: float = 0.709
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)


@dataclass(frozen=True)
class Detections:
    """Faces of one image: boxes (N, 4) x1, y1, x2, y2 in pixels, scores (N,), landmarks (N, 5, 2)."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))


def pyramid_scales(height: int, width: int, settings: MTCNNSettings) -> list[float]:
    """Scales at which P-Net's 12-pixel window covers faces from `min_size` up to the image."""
    first = 12.0 / settings.min_size
    side = min(height, width) * first
    scales = []
    scale = first
    while side >= 12:
        scales.append(scale)
        scale *= settings.factor
        side *= settings.factor
    return scales


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor, iou: float) -> torch.Tensor:
    """torchvision's NMS per group (image), imported on first use: `import torchvision` loads its
    whole model zoo and torch's compiler, seconds that Haar-only processes need not pay."""
    from torchvision.ops import batched_nms as torchvision_batched_nms

    return torchvision_batched_nms(boxes, scores, groups, iou)


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """Boxes (N, >=4) made square around their centres, side = the longer side."""
    boxes = boxes.clone()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = torch.maximum(w, h)
    boxes[:, 0] += w * 0.5 - side * 0.5
    boxes[:, 1] += h * 0.5 - side * 0.5
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _calibrate(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Move box corners by offsets given as fractions of the box's (inclusive) size."""
    boxes = boxes.clone()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    boxes[:, 0] += offsets[:, 0] * w
    boxes[:, 1] += offsets[:, 1] * h
    boxes[:, 2] += offsets[:, 2] * w
    boxes[:, 3] += offsets[:, 3] * h
    return boxes


def _normalise(images: torch.Tensor) -> torch.Tensor:
    return (images - 127.5) * SCALE


def _crops(images: torch.Tensor, boxes: torch.Tensor, owners: torch.Tensor, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (clipped) box regions resampled to side x side, and which boxes gave a crop."""
    height, width = images.shape[2:]
    corners = boxes[:, :4].trunc().int().cpu().numpy()
    x0, y0 = np.maximum(corners[:, 0], 1), np.maximum(corners[:, 1], 1)
    x1, y1 = np.minimum(corners[:, 2], width), np.minimum(corners[:, 3], height)
    crops, kept = [], []
    for k in range(len(corners)):
        if y1[k] > y0[k] - 1 and x1[k] > x0[k] - 1:
            region = images[owners[k] : owners[k] + 1, :, y0[k] - 1 : y1[k], x0[k] - 1 : x1[k]]
            crops.append(F.interpolate(region, size=(side, side), mode="area"))
            kept.append(k)
    if not crops:
        return images.new_zeros((0, 3, side, side)), torch.zeros(0, dtype=torch.long, device=boxes.device)
    return torch.cat(crops), torch.as_tensor(kept, dtype=torch.long, device=boxes.device)


def _nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS where overlap is intersection over the smaller box (MTCNN's last step): a box
    inside a better one is dropped even when their IoU is small. Indices of the boxes kept."""
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    order = np.argsort(scores)
    kept = []
    while order.size:
        best, rest = order[-1], order[:-1]
        kept.append(best)
        w = np.maximum(0.0, np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]) + 1)
        h = np.maximum(0.0, np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]) + 1)
        order = rest[(w * h) / np.minimum(area[best], area[rest]) <= threshold]
    return np.asarray(kept, dtype=np.int64)


def _full_precision():
    """No TF32 in cuDNN's convolutions: their 10-bit mantissa moved boxes by up to 3 pixels on an
    H100 (a different window wins the NMS). The nets are small; float32 costs little."""
    return torch.backends.cudnn.flags(enabled=torch.backends.cudnn.enabled, benchmark=False, deterministic=False, allow_tf32=False)


class MTCNNCascade:
    """Runs the three nets of an `MTCNN` module over RGB images."""

    def __init__(self, nets: MTCNN, settings: MTCNNSettings = MTCNNSettings()) -> None:
        self.nets = nets.eval()
        self.settings = settings

    @property
    def device(self) -> torch.device:
        return next(self.nets.parameters()).device

    def _as_batch(self, images: np.ndarray) -> torch.Tensor:
        """(B, H, W, 3) uint8 RGB -> (B, 3, H, W) float on the nets' device."""
        return torch.as_tensor(np.ascontiguousarray(images), device=self.device).permute(0, 3, 1, 2).float()

    def _propose(self, batch: torch.Tensor, settings: MTCNNSettings) -> tuple[torch.Tensor, torch.Tensor]:
        """P-Net over the pyramid: candidate boxes (N, 9: corners, score, offsets) and their image."""
        height, width = batch.shape[2:]
        found_per_scale: list[torch.Tensor] = []
        owners_per_scale: list[torch.Tensor] = []
        for scale in pyramid_scales(height, width, settings):
            scaled = F.interpolate(batch, size=(int(height * scale + 1), int(width * scale + 1)), mode="area")
            offsets, probabilities = self.nets.pnet(_normalise(scaled))
            hit = probabilities[:, 1] >= settings.thresholds[0]
            where = hit.nonzero()
            cells = where[:, 1:].flip(1).to(offsets.dtype)  # (x, y) of each 12-pixel window, stride 2
            found = torch.cat(
                [
                    ((2 * cells + 1) / scale).floor(),
                    ((2 * cells + 12) / scale).floor(),
                    probabilities[:, 1][hit].unsqueeze(1),
                    offsets.permute(0, 2, 3, 1)[hit],
                ],
                dim=1,
            )
            keep = batched_nms(found[:, :4], found[:, 4], where[:, 0], 0.5)
            found_per_scale.append(found[keep])
            owners_per_scale.append(where[keep, 0])
        if not found_per_scale:
            return batch.new_zeros((0, 9)), torch.zeros(0, dtype=torch.long, device=batch.device)
        boxes, owners = torch.cat(found_per_scale), torch.cat(owners_per_scale)
        keep = batched_nms(boxes[:, :4], boxes[:, 4], owners, 0.7)
        boxes, owners = boxes[keep], owners[keep]
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        corners = boxes[:, :4] + boxes[:, 5:9] * torch.stack([w, h, w, h], dim=1)
        return _square(torch.cat([corners, boxes[:, 4:5]], dim=1)), owners

    def _refine(
        self, batch: torch.Tensor, boxes: torch.Tensor, owners: torch.Tensor, settings: MTCNNSettings
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """R-Net: keep the windows it scores above its threshold, NMS, calibrate, square."""
        crops, kept = _crops(batch, boxes, owners, 24)
        boxes, owners = boxes[kept], owners[kept]
        if not len(boxes):
            return boxes, owners
        offsets, probabilities = self.nets.rnet(_normalise(crops))
        passed = probabilities[:, 1] > settings.thresholds[1]
        boxes = torch.cat([boxes[passed, :4], probabilities[passed, 1:2]], dim=1)
        owners, offsets = owners[passed], offsets[passed]
        keep = batched_nms(boxes[:, :4], boxes[:, 4], owners, 0.7)
        return _square(_calibrate(boxes[keep], offsets[keep])), owners[keep]

    def _output(
        self, batch: torch.Tensor, boxes: torch.Tensor, owners: torch.Tensor, settings: MTCNNSettings
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """O-Net: keep, calibrate, add landmarks; returns (boxes with scores, landmarks, owners)."""
        crops, kept = _crops(batch, boxes, owners, 48)
        boxes, owners = boxes[kept], owners[kept]
        if not len(boxes):
            return boxes, boxes.new_zeros((0, 5, 2)), owners
        offsets, points, probabilities = self.nets.onet(_normalise(crops))
        passed = probabilities[:, 1] > settings.thresholds[2]
        boxes = torch.cat([boxes[passed, :4], probabilities[passed, 1:2]], dim=1)
        owners, offsets, points = owners[passed], offsets[passed], points[passed]
        w = (boxes[:, 2] - boxes[:, 0] + 1).unsqueeze(1)
        h = (boxes[:, 3] - boxes[:, 1] + 1).unsqueeze(1)
        landmarks = torch.stack([w * points[:, :5] + boxes[:, :1] - 1, h * points[:, 5:] + boxes[:, 1:2] - 1], dim=2)
        return _calibrate(boxes, offsets), landmarks, owners

    @torch.inference_mode()
    def detect_batch(self, images: np.ndarray, settings: MTCNNSettings | None = None) -> list[Detections]:
        """Faces of each of (B, H, W, 3) uint8 RGB images of one size, best score first."""
        settings = settings or self.settings
        with _full_precision():
            batch = self._as_batch(images)
            boxes, owners = self._propose(batch, settings)
            if len(boxes):
                boxes, owners = self._refine(batch, boxes, owners, settings)
            return self._finish(batch, boxes, owners, len(images), settings)

    def refine(self, image: np.ndarray, previous: np.ndarray) -> Detections:
        """Faces near the given boxes (K, 4) of one RGB image, by R-Net and O-Net alone: the cheap
        step between full detections in a video (the face moved little since the last frame)."""
        return self.refine_batch(image[None], [previous])[0]

    @torch.inference_mode()
    def refine_batch(self, images: np.ndarray, previous: list[np.ndarray], settings: MTCNNSettings | None = None) -> list[Detections]:
        """`refine` for each of (B, H, W, 3) RGB images of one size, with its own boxes (K_i, 4):
        one R-Net and one O-Net pass over the windows of all of them (NMS stays per image)."""
        settings = settings or self.settings
        with _full_precision():
            batch = self._as_batch(images)
            corners = [np.asarray(boxes, np.float32).reshape(-1, 4) for boxes in previous]
            boxes = torch.as_tensor(np.concatenate(corners), device=self.device)
            boxes = _square(torch.cat([boxes, boxes.new_ones((len(boxes), 1))], dim=1))
            owners = torch.repeat_interleave(torch.arange(len(corners)), torch.as_tensor([len(c) for c in corners])).to(self.device)
            boxes, owners = self._refine(batch, boxes, owners, settings)
            return self._finish(batch, boxes, owners, len(images), settings)

    def _finish(
        self, batch: torch.Tensor, boxes: torch.Tensor, owners: torch.Tensor, count: int, settings: MTCNNSettings
    ) -> list[Detections]:
        if not len(boxes):
            return [Detections.empty() for _ in range(count)]
        output = self._output(batch, boxes, owners, settings)
        final, landmarks, whose = (tensor.cpu().numpy() for tensor in output)
        found = []
        for image in range(count):
            mine = np.flatnonzero(whose == image)
            keep = mine[_nms_min(final[mine, :4], final[mine, 4], 0.7)] if len(mine) else mine
            found.append(Detections(final[keep, :4], final[keep, 4], landmarks[keep]))
        return found
