"""Eyes carried along the track (and the box moved with them on every other frame) are as close
to the true eyes and faces as those searched for on every frame, for a fraction of the cascade runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vemo.faces.align import EyeLocator, EyePair
from vemo.faces.detect import FaceBox
from vemo.faces.eyetrack import EyeCarrier
from vemo.faces.pipeline import FacePipeline
from vemo.faces.recipe import DEFAULT_RECIPE
from vemo.io.video import iter_video_frames
from vemo.synth.corpus import face_found


class CountingLocator(EyeLocator):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def locate(self, gray: np.ndarray, box: FaceBox, face_px: int = 80) -> EyePair | None:
        self.calls += 1
        return super().locate(gray, box, face_px)


def _eye_errors(pipeline: FacePipeline, corpus: Path) -> tuple[list[float], int]:
    """Per frame with a true face and an aligned crop: the worse eye's distance from the truth,
    in true eye distances; and the number of frames whose true face the pipeline found."""
    truth = pd.read_csv(corpus / "frames.csv").set_index(["clip_id", "frame"])
    errors, hits = [], 0
    for video in sorted((corpus / "videos").glob("*.mp4")):
        for frame, faces in pipeline.run(iter_video_frames(video, 25.0)):
            row = truth.loc[(video.stem, frame.index)]
            if not row.face_present or not faces:
                continue
            box = faces[0].box
            hits += face_found([(box.x, box.y, box.w, box.h)], (row.face_x, row.face_y, row.face_w, row.face_h))
            if faces[0].eyes is None:
                continue
            true = np.array([[row.left_eye_x, row.left_eye_y], [row.right_eye_x, row.right_eye_y]])
            found = np.array([faces[0].eyes.left, faces[0].eyes.right])
            errors.append(np.linalg.norm(found - true, axis=1).max() / np.linalg.norm(true[1] - true[0]))
    return errors, hits


@pytest.mark.slow  # eyes searched and carried over whole clips
def test_carried_eyes_are_as_good_as_searched_ones_for_a_fraction_of_the_searches(tiny_corpus: Path):
    carrying = FacePipeline(DEFAULT_RECIPE)
    carrying._carried_eyes.locator = carrying._eyes = CountingLocator()
    searching = FacePipeline(DEFAULT_RECIPE, mode="all")  # no track: the cascades on every face of every frame
    searching._eyes = CountingLocator()
    (carried, carried_hits), (searched, searched_hits) = _eye_errors(carrying, tiny_corpus), _eye_errors(searching, tiny_corpus)
    assert carried_hits >= 0.99 * searched_hits, (carried_hits, searched_hits)  # the followed box stays on the face
    assert len(carried) >= 0.95 * len(searched)  # eyes for about as many frames
    assert np.median(carried) <= 1.1 * np.median(searched), (np.median(carried), np.median(searched))
    assert np.quantile(carried, 0.9) <= 1.1 * np.quantile(searched, 0.9)
    assert carrying._eyes.calls <= 0.4 * searching._eyes.calls, (carrying._eyes.calls, searching._eyes.calls)


def test_a_pair_that_no_longer_fits_the_box_is_searched_for_again():
    """A carried pair that left the face box (the track jumped) is not kept."""
    locator = CountingLocator()
    carrier = EyeCarrier(locator)
    image = np.zeros((120, 160), np.uint8)
    carrier(image, FaceBox(10, 10, 40, 40), search=False)  # nothing to carry yet: a search, which finds nothing
    carrier._previous = (image, EyePair((20.0, 20.0), (40.0, 20.0)), FaceBox(10, 10, 40, 40))
    far_box = FaceBox(100, 60, 50, 50)
    assert carrier(image, far_box, search=False) is None  # nothing to find on a black frame
    assert locator.calls == 2
