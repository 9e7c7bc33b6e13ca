"""kerascmp: Keras 3 reproduction of the 2019 "digit comparison" architecture study.

Importing kerascmp is cheap: TensorFlow loads when a model is first built. Register your own
architecture with `register_variant(Variant(...))` (README, "Compare your own architecture").
"""

from kerascmp.variants import (
    Distillation,
    Hyperparameters,
    Variant,
    get_variant,
    register_variant,
    variant_names,
)

__all__ = ["Distillation", "Hyperparameters", "Variant", "get_variant", "register_variant", "variant_names"]
