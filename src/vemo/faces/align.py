"""Eyes inside a face box, and the similarity transform that puts them in fixed places.

A similarity transform (rotation, uniform scale, translation; no shear) maps the two eye
centres onto canonical positions in the crop, so every crop shows the face upright at the
same scale. When the eyes are not found, the crop is made from the face box alone, with the
eye positions a Haar box usually has, and flagged `aligned=False`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import cv2
import numpy as np

from vemo.errors import FaceDetectionError
from vemo.faces.detect import FaceBox, load_cascade

# Canonical eye centres as fractions of the crop side (image-left eye first).
CANONICAL_EYES = np.array([[0.32, 0.40], [0.68, 0.40]])
# Canonical five landmarks (eyes, nose tip, mouth corners): the eyes above, the rest placed as in
# the common 112-px face template (ArcFace's), scaled to the same eye distance.
CANONICAL_LANDMARKS = np.array([[0.32, 0.40], [0.68, 0.40], [0.50, 0.606], [0.351, 0.816], [0.649, 0.816]])
# Where the eyes usually are inside a Haar frontal-face box, as fractions of its side.
BOX_EYES = np.array([[0.31, 0.38], [0.69, 0.38]])


@dataclass(frozen=True)
class EyePair:
    """Eye centres in frame pixels, image-left eye first."""

    left: tuple[float, float]
    right: tuple[float, float]


class EyeLocator:
    """Haar eye cascades run on the upper part of a face box; picks the most plausible pair."""

    def __init__(self) -> None:
        self._cascades = [load_cascade("haarcascade_eye.xml"), load_cascade("haarcascade_eye_tree_eyeglasses.xml")]

    def locate(self, gray: np.ndarray, box: FaceBox, face_px: int = 80) -> EyePair | None:
        """Eyes of the face in `box` of a (H, W) uint8 grayscale frame, or None.

        The search region is scaled so the face is about `face_px` wide, which keeps the
        eyes near the cascade's 20-pixel window and the cost low and constant.
        """
        top = max(0, box.y + int(0.12 * box.h))
        bottom = min(gray.shape[0], box.y + int(0.6 * box.h))
        left, right = max(0, box.x), min(gray.shape[1], box.x + box.w)
        region = gray[top:bottom, left:right]
        if region.size == 0:
            return None
        scale = min(1.0, face_px / max(box.w, 1))
        if scale < 1:
            region = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        width = box.w * scale
        smallest, largest = max(6, int(width / 9)), max(7, int(width / 3))
        for cascade in self._cascades:
            try:
                found = cascade.detectMultiScale(
                    region, scaleFactor=1.1, minNeighbors=3, minSize=(smallest, smallest), maxSize=(largest, largest)
                )
            except cv2.error as error:
                raise FaceDetectionError(f"Haar eye detection failed: {error.msg}") from error
            candidates = [
                (left + (x + w / 2) / scale, top + (y + h / 2) / scale, w / scale) for x, y, w, h in (found if len(found) else [])
            ]
            pair = _best_pair(candidates, box)
            if pair is not None:
                return pair
        return None


def _eye_geometry_fits(left: tuple[float, ...], right: tuple[float, ...], box: FaceBox) -> bool:
    dx, dy = right[0] - left[0], abs(right[1] - left[1])
    return 0.22 * box.w <= dx <= 0.7 * box.w and dy <= 0.3 * dx


def plausible_pair(eyes: EyePair, box: FaceBox) -> bool:
    """Whether a pair sits where a face's eyes sit in `box`: apart as eyes are, level enough,
    in the band the cascades search, and about centred (checks eyes carried from another frame)."""
    top, bottom = box.y + 0.12 * box.h, box.y + 0.6 * box.h
    centre_offset = abs((eyes.left[0] + eyes.right[0]) / 2 - (box.x + box.w / 2)) / box.w
    return (
        _eye_geometry_fits(eyes.left, eyes.right, box)
        and centre_offset <= 0.2
        and all(top <= y <= bottom for _, y in (eyes.left, eyes.right))
    )


def _best_pair(candidates: list[tuple[float, float, float]], box: FaceBox) -> EyePair | None:
    best, best_score = None, -np.inf
    for a, b in combinations(candidates, 2):
        first, second = sorted((a, b))
        if not (_eye_geometry_fits(first, second, box) and 0.5 <= first[2] / second[2] <= 2.0):
            continue
        dx, dy = second[0] - first[0], abs(second[1] - first[1])
        centre_offset = abs((first[0] + second[0]) / 2 - (box.x + box.w / 2)) / box.w
        score = -abs(dx / box.w - 0.38) - centre_offset - dy / box.w
        if score > best_score:
            best, best_score = EyePair(first[:2], second[:2]), score
    return best


def similarity_from_eyes(eyes: EyePair, size: int) -> np.ndarray:
    """2x3 matrix taking frame pixels to a `size` x `size` crop with the eyes at CANONICAL_EYES."""
    src = np.array([eyes.left, eyes.right], dtype=np.float64)
    dst = CANONICAL_EYES * size
    src_vec, dst_vec = src[1] - src[0], dst[1] - dst[0]
    scale = np.linalg.norm(dst_vec) / max(np.linalg.norm(src_vec), 1e-6)
    angle = np.arctan2(dst_vec[1], dst_vec[0]) - np.arctan2(src_vec[1], src_vec[0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([rotation, (dst[0] - rotation @ src[0])[:, None]])


def similarity_from_landmarks(points: np.ndarray, size: int) -> np.ndarray:
    """2x3 matrix taking frame pixels to a `size` x `size` crop: the similarity transform that
    puts five landmarks (5, 2) nearest their canonical places, by least squares (Umeyama)."""
    from skimage.transform import SimilarityTransform  # only MTCNN crops need it: keep it off the Haar path

    source, target = np.asarray(points, np.float64), CANONICAL_LANDMARKS * size
    if hasattr(SimilarityTransform, "from_estimate"):  # scikit-image >= 0.26
        transform = SimilarityTransform.from_estimate(source, target)
        fitted = bool(transform)
    else:
        transform = SimilarityTransform()
        fitted = transform.estimate(source, target)
    if not fitted:  # degenerate points (all in one place): fall back on the two eyes
        return similarity_from_eyes(EyePair(tuple(points[0]), tuple(points[1])), size)
    return transform.params[:2]


def box_transform(box: FaceBox, size: int) -> np.ndarray:
    """2x3 matrix for an unaligned crop: the box's usual eye positions go to CANONICAL_EYES."""
    eyes = BOX_EYES * [box.w, box.h] + [box.x, box.y]
    return similarity_from_eyes(EyePair(tuple(eyes[0]), tuple(eyes[1])), size)


def warp_crop(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Apply a 2x3 transform to get a (size, size, C) crop; outside the frame is replicated edge."""
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def aligned_crop(
    image: np.ndarray, box: FaceBox, eyes: EyePair | None, size: int, align: bool = True, five_points: bool = True
) -> tuple[np.ndarray, EyePair | None]:
    """The `size` x `size` crop of the face in `box` from a BGR or grayscale frame, cut as
    `crop_geometry` says; returns the crop and the eye pair it was aligned on. The one place
    extraction and prediction turn a box into a crop, so a model always sees the kind of crop it
    was trained on."""
    matrix, eyes = crop_geometry(box, eyes, size, align, five_points)
    return warp_crop(image, matrix, size), eyes


def crop_geometry(
    box: FaceBox, eyes: EyePair | None, size: int, align: bool = True, five_points: bool = True
) -> tuple[np.ndarray, EyePair | None]:
    """The 2x3 frame-to-crop matrix of a face's crop and the eye pair it is aligned on. With
    `align`: fitted to the box's five landmarks when the detector gave them and `five_points`
    (MTCNN's recipe), to the eyes among them otherwise (the single-shot CNNs), else to `eyes`
    when the caller found them; otherwise (or without a pair) from the box alone."""
    if not align:
        return box_transform(box, size), None
    if box.landmarks is not None:
        (left_x, left_y), (right_x, right_y) = box.landmarks[0][:2], box.landmarks[1][:2]
        eyes = EyePair((float(left_x), float(left_y)), (float(right_x), float(right_y)))
    return crop_matrix(box, eyes, size, five_points), eyes


def crop_matrix(box: FaceBox, eyes: EyePair | None, size: int, five_points: bool = True) -> np.ndarray:
    """The 2x3 frame-to-crop matrix of an aligned crop: fitted to the box's five landmarks when it
    has them and `five_points`, else to the eye pair, else (no pair found) made from the box
    alone. `aligned_crop` and the measurement of recorded crops (`vemo.synth.truth`) both choose it here."""
    if box.landmarks is not None and five_points:
        return similarity_from_landmarks(np.asarray(box.landmarks, np.float64), size)
    return similarity_from_eyes(eyes, size) if eyes else box_transform(box, size)
