"""vemo: video-based facial emotion recognition (Gunawan et al.), reproducible and measured."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`vemo.train`, `vemo.evaluate`, `vemo.extract`, `vemo.predict`, ... without importing torch at
    `import vemo` (the modules are named training, evaluation, extraction so that they never
    shadow these functions)."""
    lazy = {
        "train": ("vemo.training", "train"), "TrainConfig": ("vemo.training", "TrainConfig"),
        "evaluate": ("vemo.evaluation", "evaluate"), "extract": ("vemo.extraction", "extract"),
        "ExtractConfig": ("vemo.extraction", "ExtractConfig"), "create_model": ("vemo.models", "create_model"),
        "list_models": ("vemo.models", "list_models"), "predict": ("vemo.prediction", "predict_media"),
    }
    if name not in lazy:
        raise AttributeError(f"module 'vemo' has no attribute {name!r}")
    import importlib

    module, attribute = lazy[name]
    return getattr(importlib.import_module(module), attribute)
