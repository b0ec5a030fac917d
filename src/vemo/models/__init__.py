"""Model architectures and the registry that builds them by name.

Importing this package registers every built-in architecture (each module registers itself);
the registry itself imports none of them.
"""

from vemo.models.registry import ModelInfo, create_model, keras_parameter_count, list_models, model_info
from vemo.models import alexnet, efficientnet, lenet, lgbp, minixception, mobilenet  # noqa: E402,F401  (registers them)

__all__ = ["ModelInfo", "create_model", "keras_parameter_count", "list_models", "model_info"]
