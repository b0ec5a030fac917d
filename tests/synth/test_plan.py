"""The plan: presets, counts, determinism, and bad parameters."""

from __future__ import annotations

import pytest

from vemo.errors import ConfigError
from vemo.synth.plan import class_counts, parse_size, plan_corpus


def test_ised_preset_matches_the_paper_counts():
    plan = plan_corpus("ised", seed=0)
    assert len(plan.subjects) == 50
    assert sum(s.sex == "M" for s in plan.subjects) == 29
    assert sum(s.sex == "F" for s in plan.subjects) == 21
    assert len(plan.clips) == 428
    counts = class_counts(428, "ised")
    assert sum(counts.values()) == 428
    assert max(counts, key=counts.get) == "happiness"
    assert min(counts, key=counts.get) == "surprise"
    assert {e: sum(c.emotion == e for c in plan.clips) for e in counts} == counts


def test_every_skin_group_and_both_sexes_in_demo():
    plan = plan_corpus("demo", seed=0)
    assert {s.skin_group for s in plan.subjects} == set(range(6))
    assert {s.sex for s in plan.subjects} == {"M", "F"}


def test_clips_within_two_to_six_seconds_with_neutral_lead_in():
    plan = plan_corpus("demo", seed=4)
    for clip in plan.clips:
        assert 2.0 <= clip.n_frames / clip.fps <= 6.0
        assert 0.4 * clip.fps <= clip.onset < clip.apex < clip.offset < clip.n_frames
        assert 0.3 <= clip.intensity <= 1.0


def test_same_seed_same_plan_other_seed_other_plan():
    assert plan_corpus("tiny", seed=5) == plan_corpus("tiny", seed=5)
    assert plan_corpus("tiny", seed=5) != plan_corpus("tiny", seed=6)


def test_identity_is_consistent_across_a_subjects_clips():
    plan = plan_corpus("demo", seed=0)
    by_id = {}
    for clip in plan.clips:
        assert by_id.setdefault(clip.subject.subject_id, clip.subject) == clip.subject


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"preset": "huge"}, "unknown preset"),
        ({"preset": None, "subjects": 0, "clips": 4}, "at least 1"),
        ({"preset": None, "subjects": 5, "clips": 3}, "at least subjects"),
        ({"preset": "tiny", "fps": 0}, "fps must be above 0"),
    ],
)
def test_bad_parameters_raise_config_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        plan_corpus(**kwargs)


@pytest.mark.parametrize("size", ["320", "axb", "50x50"])
def test_bad_size(size):
    with pytest.raises(ConfigError):
        parse_size(size)
