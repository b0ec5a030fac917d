"""Model architectures and the registry that builds them by name."""

from vemo.models.registry import ModelInfo, create_model, keras_parameter_count, list_models, model_info

__all__ = ["ModelInfo", "create_model", "keras_parameter_count", "list_models", "model_info"]
