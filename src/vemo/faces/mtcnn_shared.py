"""One MTCNN cascade on a GPU for every prediction thread, fed in batches across threads.

On a CPU each thread keeps its own cascade and calls it frame by frame. On a GPU that gives many
tiny synchronous calls (a tracked frame is one R-Net and one O-Net window), so the threads'
calls queue up here instead: one consumer stacks the waiting frames of one size and settings and
runs P-Net over all of them (full detections), or R-Net and O-Net over all their windows
(tracked frames), and each thread gets its own frames' faces back. NMS stays per frame, so a
frame's faces do not depend on what it was batched with.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from vemo.engine.batching import BatchQueue, split_by
from vemo.faces.mtcnn import Detections, MTCNNCascade, MTCNNSettings

FRAMES_PER_CALL = 64  # frames one batched call may take from the queue


class SharedCascade:
    """`detect_batch` and `refine_batch` of one `MTCNNCascade`, callable from any thread."""

    def __init__(self, cascade: MTCNNCascade, frames_per_call: int = FRAMES_PER_CALL) -> None:
        self.cascade = cascade
        self.queue: BatchQueue = BatchQueue(self._run, frames_per_call, weight=lambda item: len(item[0]), name="vemo-mtcnn")

    def detect_batch(self, images: np.ndarray, settings: MTCNNSettings) -> list[Detections]:
        """As `MTCNNCascade.detect_batch`; blocks until the batch it joined has run."""
        return self.queue.submit(("detect", images.shape[1:], settings), (images, None)).result()

    def refine_batch(self, images: np.ndarray, previous: list[np.ndarray], settings: MTCNNSettings) -> list[Detections]:
        """As `MTCNNCascade.refine_batch`; blocks until the batch it joined has run."""
        return self.queue.submit(("refine", images.shape[1:], settings), (images, previous)).result()

    def _run(self, key: Hashable, requests: Sequence[tuple[np.ndarray, list[np.ndarray] | None]]) -> list:
        kind, settings = key[0], key[2]  # type: ignore[index]
        images = np.concatenate([images for images, _ in requests])
        if kind == "detect":
            found = self.cascade.detect_batch(images, settings)
        else:
            found = self.cascade.refine_batch(images, [boxes for _, previous in requests for boxes in previous or []], settings)
        return split_by(found, [own for own, _ in requests])
