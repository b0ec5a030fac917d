"""Synthetic subjects: who is in the corpus and what they look like.

A subject's look is drawn once from its own random stream, so it is the same in all of the
subject's clips, and it never depends on the emotions the subject will show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Six skin-tone groups, lightest to darkest, as RGB albedo (roughly Fitzpatrick I to VI).
SKIN_TONES_RGB: tuple[tuple[int, int, int], ...] = (
    (236, 204, 182),
    (222, 180, 150),
    (196, 150, 112),
    (160, 112, 78),
    (118, 78, 52),
    (82, 54, 38),
)
HAIR_COLOURS_RGB: tuple[tuple[int, int, int], ...] = (
    (20, 16, 14),
    (45, 32, 24),
    (80, 56, 36),
    (120, 88, 56),
    (170, 140, 90),
    (110, 110, 110),
)
IRIS_COLOURS_RGB: tuple[tuple[int, int, int], ...] = ((60, 40, 25), (90, 60, 35), (70, 100, 130), (80, 110, 70))
CLOTHES_COLOURS_RGB: tuple[tuple[int, int, int], ...] = (
    (40, 60, 120),
    (150, 30, 40),
    (60, 60, 60),
    (200, 200, 190),
    (40, 110, 70),
    (180, 140, 40),
)


@dataclass(frozen=True)
class SubjectSpec:
    """The fixed appearance of one synthetic subject (all sizes relative to face width)."""

    subject_id: str
    sex: str
    skin_group: int
    skin_rgb: tuple[int, int, int]
    hair_rgb: tuple[int, int, int]
    iris_rgb: tuple[int, int, int]
    clothes_rgb: tuple[int, int, int]
    face_width: float
    face_height: float
    jaw: float
    eye_spacing: float
    eye_size: float
    brow_thickness: float
    brow_height: float
    nose_length: float
    mouth_width: float
    lip_thickness: float
    hair_style: str
    glasses: bool
    beard: bool


def sample_subject(subject_id: str, sex: str, skin_group: int, rng: np.random.Generator) -> SubjectSpec:
    """Draw one subject's appearance from `rng`."""
    male = sex == "M"
    skin = np.array(SKIN_TONES_RGB[skin_group], dtype=np.float64) * rng.uniform(0.95, 1.05, size=3)
    hair_choices = len(HAIR_COLOURS_RGB) if skin_group <= 2 else 3
    return SubjectSpec(
        subject_id=subject_id,
        sex=sex,
        skin_group=skin_group,
        skin_rgb=(int(np.clip(skin[0], 0, 255)), int(np.clip(skin[1], 0, 255)), int(np.clip(skin[2], 0, 255))),
        hair_rgb=HAIR_COLOURS_RGB[int(rng.integers(hair_choices))],
        iris_rgb=IRIS_COLOURS_RGB[int(rng.integers(2 if skin_group >= 3 else len(IRIS_COLOURS_RGB)))],
        clothes_rgb=CLOTHES_COLOURS_RGB[int(rng.integers(len(CLOTHES_COLOURS_RGB)))],
        face_width=float(rng.uniform(0.92, 1.08) * (1.03 if male else 0.97)),
        face_height=float(rng.uniform(0.92, 1.08)),
        jaw=float(rng.uniform(0.8, 1.0) if male else rng.uniform(0.65, 0.85)),
        eye_spacing=float(rng.uniform(0.92, 1.08)),
        eye_size=float(rng.uniform(0.9, 1.12) * (0.97 if male else 1.04)),
        brow_thickness=float(rng.uniform(1.0, 1.35) if male else rng.uniform(0.75, 1.05)),
        brow_height=float(rng.uniform(0.92, 1.08)),
        nose_length=float(rng.uniform(0.9, 1.12)),
        mouth_width=float(rng.uniform(0.88, 1.12)),
        lip_thickness=float(rng.uniform(0.8, 1.25)),
        hair_style=str(
            rng.choice(["short", "crop", "bald"], p=[0.6, 0.3, 0.1]) if male else rng.choice(["long", "bob", "bun"], p=[0.5, 0.3, 0.2])
        ),
        glasses=bool(rng.random() < 0.25),
        beard=bool(male and rng.random() < 0.35),
    )


def subject_roster(n_subjects: int, n_male: int, rng: np.random.Generator) -> list[SubjectSpec]:
    """All subjects of a corpus: skin-tone groups cycle so that every group is present.

    Sexes are shuffled over the roster independently of skin tone.
    """
    sexes = np.array(["M"] * n_male + ["F"] * (n_subjects - n_male))
    rng.shuffle(sexes)
    groups = [i % len(SKIN_TONES_RGB) for i in range(n_subjects)]
    return [
        sample_subject(f"S{i + 1:03d}", str(sexes[i]), groups[i], np.random.default_rng(rng.integers(2**63))) for i in range(n_subjects)
    ]
