"""The plan of a corpus: presets, subjects, clips and every random choice, before any pixel.

Everything random about a clip (its timing, head motion, lighting, background, noise, the
stretches without a face) is drawn here from the clip's own stream, and none of it looks at
the emotion: only the action units do. That is what keeps the corpus free of shortcuts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vemo.checks import require_number
from vemo.errors import ConfigError
from vemo.synth.action_units import EMOTIONS, clip_action_unit_peaks
from vemo.synth.identity import SubjectSpec, subject_roster

# Share of each class in Table II of the paper (train + validation + test).
ISED_CLASS_SHARE: dict[str, float] = {"disgust": 361, "happiness": 983, "sadness": 632, "surprise": 234}

DEFAULT_FPS = 25.0  # ISED's videos, and the corpus's unless asked otherwise


@dataclass(frozen=True)
class Preset:
    """Default size of a corpus."""

    subjects: int
    clips: int
    male: int
    class_balance: str  # "uniform" or "ised"


PRESETS: dict[str, Preset] = {
    "tiny": Preset(subjects=4, clips=8, male=2, class_balance="uniform"),
    "demo": Preset(subjects=12, clips=48, male=7, class_balance="uniform"),
    "ised": Preset(subjects=50, clips=428, male=29, class_balance="ised"),
}


@dataclass(frozen=True)
class Absence:
    """A stretch of frames [start, end) with no visible face."""

    start: int
    end: int
    kind: str  # "away" (subject left the frame) or "occluded" (something covers the face)


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to render one clip, deterministically."""

    clip_id: str
    subject: SubjectSpec
    emotion: str
    n_frames: int
    fps: float
    width: int
    height: int
    onset: int
    apex: int
    offset: int
    intensity: float
    au_peaks: dict[str, float]
    seed: int
    roll_base: float
    roll_swing: float
    yaw_base: float
    yaw_swing: float
    face_px: float
    scale_swing: float
    centre: tuple[float, float]
    drift: tuple[float, float]
    motion_phase: tuple[float, float, float, float]
    motion_period_s: float
    light_level: float
    light_gradient: tuple[float, float]
    key_light: tuple[float, float]
    noise_sigma: float
    blur_sigma: float
    jpeg_quality: int
    background_style: str
    background_seed: int
    absences: tuple[Absence, ...] = ()
    second_face: SubjectSpec | None = None
    second_face_at: tuple[float, float, float] = (0.0, 0.0, 0.0)  # x, y, face width in px


@dataclass(frozen=True)
class CorpusPlan:
    """A whole corpus: parameters, subjects and clips."""

    seed: int
    fps: float
    width: int
    height: int
    preset: str | None
    class_balance: str
    subjects: tuple[SubjectSpec, ...]
    clips: tuple[ClipSpec, ...] = field(repr=False)


def class_counts(n_clips: int, balance: str) -> dict[str, int]:
    """Clips per emotion, by largest remainder, for a uniform or ISED-like balance."""
    shares = ISED_CLASS_SHARE if balance == "ised" else {e: 1.0 for e in EMOTIONS}
    total = sum(shares.values())
    exact = {e: n_clips * shares[e] / total for e in EMOTIONS}
    counts = {e: int(np.floor(v)) for e, v in exact.items()}
    for e in sorted(EMOTIONS, key=lambda e: exact[e] - counts[e], reverse=True)[: n_clips - sum(counts.values())]:
        counts[e] += 1
    return counts


def parse_size(size: str) -> tuple[int, int]:
    """'320x240' -> (320, 240).

    Raises:
        ConfigError: not WIDTHxHEIGHT with both at least 96 px.
    """
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError as error:
        raise ConfigError(f"size must be WIDTHxHEIGHT, e.g. 320x240, not {size!r}", "size") from error
    if not (96 <= width <= 4096 and 96 <= height <= 4096):
        raise ConfigError(f"size must be between 96x96 and 4096x4096, not {size!r}", "size")
    return width, height


def plan_corpus(
    preset: str | None = "demo",
    *,
    subjects: int | None = None,
    clips: int | None = None,
    seed: int = 0,
    fps: float = DEFAULT_FPS,
    size: tuple[int, int] = (320, 240),
) -> CorpusPlan:
    """Draw every random choice of a corpus from `seed`.

    Args:
        preset: "tiny", "demo", "ised", or None (then `subjects` and `clips` are required).
        subjects: overrides the preset's number of subjects.
        clips: overrides the preset's number of clips.
        seed: the one seed everything derives from.
        fps: frame rate of the videos.
        size: (width, height) of the videos in pixels.

    Raises:
        ConfigError: unknown preset, or counts that make no corpus.
    """
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    base = PRESETS[preset] if preset else Preset(subjects=subjects or 0, clips=clips or 0, male=0, class_balance="uniform")
    n_subjects = base.subjects if subjects is None else subjects
    n_clips = base.clips if clips is None else clips
    if n_subjects < 1:
        raise ConfigError(f"subjects must be at least 1, not {n_subjects}", "subjects")
    if n_clips < n_subjects:
        raise ConfigError(f"clips ({n_clips}) must be at least subjects ({n_subjects}): every subject needs a clip", "clips", "subjects")
    require_number(fps, "fps", 0, 240, low_open=True)
    require_number(seed, "seed", 0, 2**32 - 1)
    require_number(n_subjects, "subjects", 1, 100_000)
    require_number(n_clips, "clips", 1, 1_000_000)
    n_male = base.male if (subjects is None and preset) else int(round(n_subjects * 29 / 50))
    rng = np.random.default_rng(seed)
    roster = subject_roster(n_subjects, n_male, np.random.default_rng(rng.integers(2**63)))

    # Deal the emotions, grouped by class, round-robin over the subjects, so every subject
    # shows as many different emotions as the counts allow; then shuffle the clip order so
    # that a clip's id says nothing about its emotion.
    emotions = [e for e, n in class_counts(n_clips, base.class_balance).items() for _ in range(n)]
    owners = [roster[i % n_subjects] for i in range(n_clips)]
    order = np.random.default_rng(rng.integers(2**63)).permutation(n_clips)
    clip_seeds = rng.integers(2**63, size=n_clips)
    clip_specs = tuple(
        _plan_clip(f"c{k + 1:04d}", owners[i], emotions[i], fps, size, roster, int(clip_seeds[k])) for k, i in enumerate(order)
    )
    return CorpusPlan(seed, fps, size[0], size[1], preset, base.class_balance, tuple(roster), clip_specs)


def _plan_clip(
    clip_id: str,
    subject: SubjectSpec,
    emotion: str,
    fps: float,
    size: tuple[int, int],
    roster: list[SubjectSpec],
    seed: int,
) -> ClipSpec:
    # Separate streams: the nuisance stream never sees the emotion, so nuisances are
    # identically distributed for every class.
    nuisance = np.random.default_rng([seed, 1])
    expression = np.random.default_rng([seed, 2])
    width, height = size
    n_frames = int(round(nuisance.uniform(2.0, 6.0) * fps))
    onset = int(round(nuisance.uniform(0.12, 0.25) * n_frames))
    onset = max(onset, int(round(0.4 * fps)))
    apex = onset + int(round(nuisance.uniform(0.15, 0.3) * n_frames))
    offset = min(n_frames - 1, apex + int(round(nuisance.uniform(0.2, 0.45) * n_frames)))
    intensity = float(nuisance.uniform(0.3, 1.0))
    face_px = float(nuisance.uniform(0.30, 0.42) * min(width, height * 1.333))
    absences: list[Absence] = []
    if nuisance.random() < 0.2:
        length = int(round(nuisance.uniform(0.4, 1.0) * fps))
        start = int(nuisance.integers(0, max(1, n_frames - length)))
        absences.append(Absence(start, min(n_frames, start + length), str(nuisance.choice(["away", "occluded"]))))
    second = None
    second_at = (0.0, 0.0, 0.0)
    if nuisance.random() < 0.1 and len(roster) > 1:
        others = [s for s in roster if s.subject_id != subject.subject_id]
        second = others[int(nuisance.integers(len(others)))]
        side = nuisance.choice([0.12, 0.88])
        second_at = (float(side * width), float(nuisance.uniform(0.2, 0.35) * height), float(face_px * nuisance.uniform(0.35, 0.5)))
    return ClipSpec(
        clip_id=clip_id,
        subject=subject,
        emotion=emotion,
        n_frames=n_frames,
        fps=fps,
        width=width,
        height=height,
        onset=onset,
        apex=apex,
        offset=offset,
        intensity=intensity,
        au_peaks=clip_action_unit_peaks(emotion, intensity, expression),
        seed=seed,
        roll_base=float(nuisance.uniform(-10, 10)),
        roll_swing=float(nuisance.uniform(0, 5)),
        yaw_base=float(nuisance.uniform(-8, 8)),
        yaw_swing=float(nuisance.uniform(0, 4)),
        face_px=face_px,
        scale_swing=float(nuisance.uniform(0.0, 0.08)),
        centre=(float(width * nuisance.uniform(0.42, 0.58)), float(height * nuisance.uniform(0.44, 0.54))),
        drift=(float(width * nuisance.uniform(0, 0.05)), float(height * nuisance.uniform(0, 0.04))),
        motion_phase=_four(nuisance.uniform(0, 2 * np.pi, size=4)),
        motion_period_s=float(nuisance.uniform(2.5, 7.0)),
        light_level=float(nuisance.uniform(0.7, 1.15)),
        light_gradient=(float(nuisance.uniform(-0.25, 0.25)), float(nuisance.uniform(-0.15, 0.15))),
        key_light=(float(nuisance.uniform(-0.6, 0.6)), float(nuisance.uniform(-0.7, -0.2))),
        noise_sigma=float(nuisance.uniform(1.0, 6.0)),
        blur_sigma=float(nuisance.choice([0.0, 0.0, 0.6, 1.0])),
        jpeg_quality=int(nuisance.choice([0, 0, 60, 40])),
        background_style=str(nuisance.choice(["gradient", "noise", "room"])),
        background_seed=int(nuisance.integers(2**31)),
        absences=tuple(absences),
        second_face=second,
        second_face_at=second_at,
    )


def _four(values: np.ndarray) -> tuple[float, float, float, float]:
    first, second, third, fourth = (float(v) for v in values)
    return first, second, third, fourth
