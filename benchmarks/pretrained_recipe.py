"""Which crop recipe suits the pretrained FER2013 mini-Xception: measured, side by side.

Usage: python benchmarks/pretrained_recipe.py [--corpus DIR] [--media DIR] [--every 3]

For each recipe (Haar or MTCNN faces; aligned or box crops; 227 px) it predicts, with
`pretrained:fer2013-minixception` and the paper's four classes:
  - the real clips and stills of `../shared/media` whose emotion is known (the man who smiles:
    happiness): the verdict and the mean happiness probability;
  - every clip of the synthetic demo corpus: verdict accuracy against the clip's emotion (the
    mini-Xception never saw these drawn faces: a check on crops, not a real-world result).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import pandas as pd

from vemo.faces.recipe import CropRecipe
from vemo.prediction import load_predictor, predict_media
from vemo.synth import generate_corpus, plan_corpus

SHARED = Path(__file__).resolve().parents[2] / "shared" / "media"
HAPPY = ("single_face.mp4", "noface_face.mov", "single_face.jpg")  # the same man, smiling
RECIPES = {
    "haar aligned": CropRecipe("haar", align=True),
    "haar box": CropRecipe("haar", align=False),
    "mtcnn aligned": CropRecipe("mtcnn", align=True),
    "mtcnn box": CropRecipe("mtcnn", align=False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "vemo-bench-demo-corpus")
    parser.add_argument("--media", type=Path, default=SHARED)
    parser.add_argument("--every", type=int, default=3)
    args = parser.parse_args()
    if not (args.corpus / "corpus.json").is_file():
        generate_corpus(plan_corpus("demo", seed=0), args.corpus)
    clips = pd.read_csv(args.corpus / "clips.csv")
    loaded = load_predictor("pretrained:fer2013-minixception", device="cpu", runtime="torch")
    print(f"{'recipe':14} {'real: happiness verdicts':>25} {'mean p(happiness)':>18} {'synthetic: accuracy':>20} {'seconds':>8}")
    for name, recipe in RECIPES.items():
        predictor = dataclasses.replace(loaded, crop_recipe=recipe)
        started = time.perf_counter()
        real = [predict_media(args.media / f, predictor)[0] for f in HAPPY if (args.media / f).exists()]
        synthetic = [
            predict_media(args.corpus / clip.file, predictor, every=args.every)[0].label == clip.emotion for clip in clips.itertuples()
        ]
        happy = sum(v.label == "happiness" for v in real)
        mean = sum(v.probabilities["happiness"] for v in real) / max(len(real), 1)
        print(
            f"{name:14} {happy:>21d}/{len(real)} {mean:18.2f} {sum(synthetic) / len(synthetic):20.1%} {time.perf_counter() - started:8.0f}"
        )
    print(f"(synthetic: {len(clips)} clips of the demo corpus, every {args.every}rd frame; chance is 25 %)")


if __name__ == "__main__":
    main()
