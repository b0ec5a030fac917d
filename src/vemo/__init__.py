"""vemo: video-based facial emotion recognition (Gunawan et al.), reproducible and measured."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`vemo.train`, `vemo.evaluate`, `vemo.extract`, `vemo.predict`, ... (each named after the
    command it does: `vemo.predict` writes a folder as `vemo predict` does) without importing torch at
    `import vemo` (the stage packages are named extraction, labelling, training, evaluation,
    experiment and prediction so that they never shadow these functions)."""
    lazy = {
        "extract": ("vemo.extraction", "extract"),
        "ExtractConfig": ("vemo.extraction", "ExtractConfig"),
        "apply_labels": ("vemo.labelling", "apply_labels"),
        "labels_from_clips": ("vemo.labelling", "labels_from_clips"),
        "split_workspace": ("vemo.labelling", "split_workspace"),
        "train": ("vemo.training", "train"),
        "TrainConfig": ("vemo.training", "TrainConfig"),
        "evaluate": ("vemo.evaluation", "evaluate"),
        "run_study": ("vemo.experiment", "run_study"),
        "ExperimentConfig": ("vemo.experiment", "ExperimentConfig"),
        "predict": ("vemo.prediction", "predict_to_folder"),
        "predict_media": ("vemo.prediction", "predict_media"),
        "predict_to_folder": ("vemo.prediction", "predict_to_folder"),
        "PredictConfig": ("vemo.prediction", "PredictConfig"),
        "load_predictor": ("vemo.prediction", "load_predictor"),
        "watch": ("vemo.live", "watch"),
        "LiveSession": ("vemo.live", "LiveSession"),
        "create_model": ("vemo.models", "create_model"),
        "build_model": ("vemo.weights", "build_model"),
        "list_models": ("vemo.models", "list_models"),
    }
    if name not in lazy:
        raise AttributeError(f"module 'vemo' has no attribute {name!r}")
    import importlib

    module, attribute = lazy[name]
    return getattr(importlib.import_module(module), attribute)
