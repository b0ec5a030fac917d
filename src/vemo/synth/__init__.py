"""A generator of synthetic, ISED-like face videos with known labels.

The paper's data set (ISED) needs a licence, so every stage of vemo runs by default on this
corpus. Figures measured on it are never real-world results; every report says so.
"""

from vemo.synth.corpus import CorpusResult, generate_corpus
from vemo.synth.plan import PRESETS, ClipSpec, CorpusPlan, plan_corpus

__all__ = ["PRESETS", "ClipSpec", "CorpusPlan", "CorpusResult", "generate_corpus", "plan_corpus"]
