"""`vemo demo`: every stage built so far, on a small synthetic corpus."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vemo.synth import generate_corpus, plan_corpus

DEMO_SEED = 0


def run_demo(out: Path | str, *, workers: int | None = None, progress: bool = False,
             echo: Callable[[str], None] = print) -> None:
    """Render the demo corpus into `out/corpus`, then run the later stages on it.

    Every figure this prints is measured on synthetic faces, and it says so.
    """
    out = Path(out)
    plan = plan_corpus("demo", seed=DEMO_SEED)
    corpus = generate_corpus(plan, out / "corpus", workers=workers, progress=progress)
    echo("vemo demo — on a SYNTHETIC corpus (drawn faces, not people); no figure here is a real-world result")
    echo(f"1. corpus: {len(plan.clips)} clips of {len(plan.subjects)} subjects, {corpus.frames} frames "
         f"({corpus.clips_rendered} rendered now, {corpus.clips_skipped} already there) -> {out / 'corpus'}")
    echo(f"   Haar face detection on the rendered frames: {corpus.detection_rate:.1%}; look at {out / 'corpus' / 'preview.png'}")
