"""The model's classes against the data's: matched by name, with the user's `--map from=to`.

Probabilities are restricted to the shared classes and renormalised, exactly as prediction's
reported classes are (`vemo.prediction.predictor.choose_classes`): FER2013's seven against the
paper's four keep disgust, happiness, sadness and surprise. Data labels the model does not
predict, and model classes the data never shows, are said in the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from vemo.errors import ConfigError
from vemo.io.workspace import SAFE_LABEL


@dataclass(frozen=True)
class ClassMatch:
    """`shared`: the classes scored (the model's order); `mapping`: data label -> model class;
    `dropped`: data labels with no model class (their items are left out, counted); `unused`:
    model classes outside the shared ones (their probability is renormalised away)."""

    shared: tuple[str, ...]
    mapping: dict[str, str]
    dropped: tuple[str, ...]
    unused: tuple[str, ...]

    def to_json(self) -> dict:
        return {"shared": list(self.shared), "mapping": self.mapping, "dropped": list(self.dropped), "unused": list(self.unused)}


def parse_map(pairs: list[str] | None) -> dict[str, str]:
    """`["happy=happiness", ...]` -> {"happy": "happiness"}.

    Raises:
        ConfigError: a pair that is not FROM=TO of two class names.
    """
    mapping = {}
    for pair in pairs or []:
        source, equals, target = pair.partition("=")
        source, target = source.strip(), target.strip()
        if not equals or not SAFE_LABEL.fullmatch(source) or not SAFE_LABEL.fullmatch(target):
            raise ConfigError(f"--map {pair!r}: give FROM=TO, a data label and a model class", "map")
        mapping[source] = target
    return mapping


def match_classes(model_classes: tuple[str, ...], data_labels: set[str], mapping: dict[str, str]) -> ClassMatch:
    """The shared classes of a model and a data set.

    Raises:
        ConfigError: a --map target the model does not predict, or fewer than two shared classes.
    """
    unknown = sorted({target for target in mapping.values() if target not in model_classes})
    if unknown:
        raise ConfigError(f"--map: the model predicts {', '.join(model_classes)}, not {', '.join(unknown)}", "map")
    to_model = {label: mapping.get(label, label) for label in sorted(data_labels)}
    kept = {label: target for label, target in to_model.items() if target in model_classes}
    shared = tuple(c for c in model_classes if c in kept.values())
    if len(shared) < 2:
        raise ConfigError(
            f"the data's labels ({', '.join(sorted(data_labels))}) share {len(shared)} class with the model's "
            f"({', '.join(model_classes)}); name them alike or give --map FROM=TO",
            "map",
        )
    return ClassMatch(shared, kept, tuple(sorted(set(to_model) - set(kept))), tuple(c for c in model_classes if c not in shared))
