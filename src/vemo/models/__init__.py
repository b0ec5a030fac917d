"""Model architectures and the registry that builds them by name.

Each built-in architecture registers itself when its module is imported, and the registry
imports a module only when its model is asked for (timm's lazy entries): predicting with the
FER2013 mini-Xception never imports timm, torchvision's model zoo or scikit-image.
"""

from vemo.models.registry import ModelInfo, create_model, keras_parameter_count, list_models, model_info

__all__ = ["ModelInfo", "create_model", "keras_parameter_count", "list_models", "model_info"]
