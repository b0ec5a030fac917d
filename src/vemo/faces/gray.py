"""The grayscale of a colour frame, converted only where it is read.

Between detections a single-shot CNN's face is followed by optical flow in a region around it
and cut out as a grayscale crop (for grayscale models): both read the frame around the face, a
small part of most frames (a face in a 1080p frame is a twentieth of it). So the first part asked
for is converted with a margin, which holds the parts asked for next (the region the next frame's
flow reads, the crop's footprint) when the face moved little; a part outside it converts the
rectangle holding both, and a rectangle this large a share of the frame, the whole frame.
"""

from __future__ import annotations

import cv2
import numpy as np

MARGIN = 0.1  # of a converted part's width and height, on each side
WHOLE_SHARE = 0.6  # a rectangle this large (of the frame's area) converts the whole frame


class FrameGray:
    """One colour frame's grayscale, by parts; the pixels are those of converting the whole frame."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        self._converted: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) of `_gray`
        self._gray: np.ndarray = np.zeros((0, 0), np.uint8)

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[0], self.image.shape[1]

    def part(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """The grayscale of frame pixels [y0, y1) x [x0, x1)."""
        done = self._converted
        if done is None:
            done = self._convert(x0, y0, x1, y1)
        elif not (done[0] <= x0 and done[1] <= y0 and x1 <= done[2] and y1 <= done[3]):
            done = self._convert(min(x0, done[0]), min(y0, done[1]), max(x1, done[2]), max(y1, done[3]))
        return self._gray[y0 - done[1] : y1 - done[1], x0 - done[0] : x1 - done[0]]

    def _convert(self, x0: int, y0: int, x1: int, y1: int) -> tuple[int, int, int, int]:
        """Converts [y0, y1) x [x0, x1) with `MARGIN` around it (the whole frame past `WHOLE_SHARE`)."""
        height, width = self.shape
        across, down = int(MARGIN * (x1 - x0)), int(MARGIN * (y1 - y0))
        x0, y0, x1, y1 = max(0, x0 - across), max(0, y0 - down), min(width, x1 + across), min(height, y1 + down)
        if (x1 - x0) * (y1 - y0) >= WHOLE_SHARE * height * width:
            x0, y0, x1, y1 = 0, 0, width, height
        self._converted = (x0, y0, x1, y1)
        part = self.image[y0:y1, x0:x1]
        # a part copied out first converts faster than the part in place (0.08 against 0.11 ms for 40 %
        # of a 640x360 frame, measured side by side on frames decoded earlier, as the workers get them)
        self._gray = cv2.cvtColor(part if part.flags.c_contiguous else np.ascontiguousarray(part), cv2.COLOR_BGR2GRAY)
        return self._converted

    def crop(self, matrix: np.ndarray, size: int) -> np.ndarray:
        """The (size, size) grayscale crop the 2x3 frame-to-crop `matrix` cuts out, as
        `vemo.faces.align.warp_crop` cuts it from the whole converted frame: only the part the
        bilinear warp reads is converted, and the warp is shifted to that part's corner."""
        inverse = cv2.invertAffineTransform(matrix)  # as warpAffine inverts it
        x0, y0, x1, y1 = _footprint(inverse, size, self.shape)
        inverse[:, 2] -= (x0, y0)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        return cv2.warpAffine(self.part(x0, y0, x1, y1), inverse, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def _footprint(inverse: np.ndarray, size: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The frame pixels (x0, y0, x1, y1) that the bilinear warp of a `size` crop reads (`inverse`:
    its 2x3 crop-to-frame matrix), with a margin for its fixed-point rounding; the whole frame when
    the crop lies outside it. Where the part meets the frame's edge, edge replication gives the
    pixels it gives on the whole frame."""
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], np.float64)
    source = corners @ inverse[:, :2].T + inverse[:, 2]
    (left, top), (right, bottom) = source.min(axis=0), source.max(axis=0)
    x0, y0 = max(0, int(np.floor(left)) - 2), max(0, int(np.floor(top)) - 2)
    x1, y1 = min(shape[1], int(np.ceil(right)) + 3), min(shape[0], int(np.ceil(bottom)) + 3)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0, 0, shape[1], shape[0]
    return x0, y0, x1, y1
