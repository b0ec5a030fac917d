"""ExtractConfig: the fingerprint that decides whether a workspace's sources are extracted again."""

from __future__ import annotations

import pytest

from vemo.extraction import ExtractConfig
from vemo.faces.detect import DetectorSettings


@pytest.mark.parametrize(
    ("config", "fingerprint"),
    [
        (ExtractConfig(), "72ac5a1d2a4d8902"),
        (ExtractConfig(every=5, align=False), "921c1708c988b905"),
        (ExtractConfig(crop_size=112), "f0eab63fef6f4ee5"),
        (ExtractConfig(detector="mtcnn"), "84fbe1306973b8bd"),
        (ExtractConfig(detector_settings=DetectorSettings(scale_factor=1.1, min_neighbors=4)), "3098494750e5609c"),
    ],
)
def test_workspaces_keep_the_fingerprint_they_were_made_with(config: ExtractConfig, fingerprint: str):
    """The fingerprints of workspaces extracted by earlier versions (fields since renamed): a change
    here would extract every workspace again."""
    assert config.fingerprint() == fingerprint
