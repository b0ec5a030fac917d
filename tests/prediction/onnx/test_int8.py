"""int8 files: calibrated on real face crops, kept only when their labels agree with the float
model's on held-out crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vemo.errors import ExportError
from vemo.prediction import load_predictor
from vemo.prediction.onnx import export as export_module
from vemo.prediction.onnx.crops import check_crops
from vemo.prediction.onnx.export import export_predictor
from vemo.prediction.onnx.file import read_metadata


@pytest.fixture(scope="module")
def fer_and_crops(shared_media: Path, cached_weights: Path):
    predictor = load_predictor("pretrained:fer2013-minixception", device="cpu", runtime="torch")
    crops, problems = check_crops(
        predictor, [shared_media / "single_face.mp4", shared_media / "multi_face.jpg", shared_media / "no_face.mp4"]
    )
    assert problems == [f"{shared_media / 'no_face.mp4'}: no face found"]
    return predictor, crops


def test_int8_keeps_the_labels_of_real_faces(fer_and_crops, tmp_path: Path):
    predictor, crops = fer_and_crops
    export_predictor(predictor, tmp_path / "float.onnx", crops)
    report = export_predictor(predictor, tmp_path / "int8.onnx", crops, int8=True)
    assert report.int8_agreement is not None and report.int8_agreement >= 0.98
    assert report.int8_checked == len(crops) // 2  # measured on the half it was not calibrated on
    assert read_metadata(tmp_path / "int8.onnx")["quantization"] == "int8-static-qdq"
    assert (tmp_path / "int8.onnx").stat().st_size < (tmp_path / "float.onnx").stat().st_size


def test_int8_that_loses_labels_or_has_too_few_crops_writes_nothing(fer_and_crops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    predictor, crops = fer_and_crops
    with pytest.raises(ExportError, match="needs at least 20 face crops"):
        export_predictor(predictor, tmp_path / "few.onnx", crops[:5], int8=True)
    monkeypatch.setattr(export_module, "INT8_AGREEMENT", 1.01)  # no agreement can pass
    with pytest.raises(ExportError, match="nothing written"):
        export_predictor(predictor, tmp_path / "int8.onnx", crops, int8=True)
    assert list(tmp_path.iterdir()) == [] and np.all(crops >= 0)


def test_the_agreement_comes_with_its_interval_and_one_unlucky_crop_is_no_refusal(
    fer_and_crops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from vemo.prediction.onnx.export import agreement_interval

    low, high = agreement_interval(33, 34)  # one label of 34 lost: the 97.1 %
    assert low < 0.971 < 0.98 < high  # could well be above 98 %: not a reason to refuse
    low, high = agreement_interval(300, 340)
    assert high < 0.98  # surely below: refused
    predictor, crops = fer_and_crops
    monkeypatch.setattr(export_module, "INT8_AGREEMENT", 0.999)  # unreachable to show with a few dozen crops
    report = export_predictor(predictor, tmp_path / "int8.onnx", crops, int8=True)
    assert report.int8_interval is not None and report.int8_interval[0] <= report.int8_agreement <= report.int8_interval[1]
    assert any("95 % interval" in line for line in report.lines())
    assert any(line.startswith("note: too few crops") for line in report.lines())
