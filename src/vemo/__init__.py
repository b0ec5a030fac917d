"""vemo: video-based facial emotion recognition (Gunawan et al.), reproducible and measured."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`vemo.train`, `vemo.evaluate`, ... without importing torch at `import vemo`."""
    lazy = {
        "train": ("vemo.train", "train"), "TrainConfig": ("vemo.train", "TrainConfig"),
        "evaluate": ("vemo.evaluate", "evaluate"), "extract": ("vemo.extract", "extract"),
        "ExtractConfig": ("vemo.extract", "ExtractConfig"), "create_model": ("vemo.models", "create_model"),
        "list_models": ("vemo.models", "list_models"),
    }
    if name not in lazy:
        raise AttributeError(f"module 'vemo' has no attribute {name!r}")
    import importlib

    module, attribute = lazy[name]
    return getattr(importlib.import_module(module), attribute)
