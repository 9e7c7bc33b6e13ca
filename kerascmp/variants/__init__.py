"""The variants: what one is and the registry (`registry`), the report's (`report`), and beyond it (`beyond`).

Importing this package registers kerascmp's own variants, the report's first, then the beyond-the-report
ablation; a plugin registers its own the same way, with `kerascmp.register_variant`. Importing it is free:
TensorFlow loads when a model or an optimiser is first built.
"""

from kerascmp.names import REPORT_VARIANTS
from kerascmp.variants import beyond, report  # noqa: F401  (each registers its variants)
from kerascmp.variants.registry import (
    PRECISIONS,
    Distillation,
    GridPoint,
    Hyperparameters,
    Variant,
    get_variant,
    load_plugin,
    register_variant,
    variant_names,
)

__all__ = [
    "PRECISIONS",
    "REPORT_VARIANTS",
    "Distillation",
    "GridPoint",
    "Hyperparameters",
    "Variant",
    "get_variant",
    "load_plugin",
    "register_variant",
    "variant_names",
]
