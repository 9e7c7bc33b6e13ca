"""The study's architectures (Keras Functional API), and the pieces a plugin composes its own from.

Every model takes raw pairs, float32 (batch, 2, 14, 14) in 0-255, and returns a dict of logits keyed by
kerascmp.names: the comparison (2), and both digits (10 each) where the variant has digit heads.
`layers` holds kerascmp's own Keras layers (registered serialisable), `networks` the nets built from them.
"""

from kerascmp.models.layers import (
    PIXEL_MEAN,
    PIXEL_STD,
    AnalyticComparison,
    ImageRotation,
    OneHotArgmax,
    PixelShift,
    ProbabilityMean,
    Sharpening,
    pixel_scaling,
)
from kerascmp.models.networks import (
    COMPARISON_PARAMS,
    DIGIT_NET_PARAMS,
    FC_HIDDEN_UNITS,
    analytic_comparator,
    architecture_fingerprint,
    build_comparator,
    build_digit_net,
    build_report_model,
    comparator_of,
    comparison_temperature,
    digit_classifier,
    digit_nets,
    ensemble_model,
    pair_model,
)

__all__ = [
    "COMPARISON_PARAMS",
    "DIGIT_NET_PARAMS",
    "FC_HIDDEN_UNITS",
    "PIXEL_MEAN",
    "PIXEL_STD",
    "AnalyticComparison",
    "ImageRotation",
    "OneHotArgmax",
    "PixelShift",
    "ProbabilityMean",
    "Sharpening",
    "analytic_comparator",
    "architecture_fingerprint",
    "build_comparator",
    "build_digit_net",
    "build_report_model",
    "comparator_of",
    "comparison_temperature",
    "digit_classifier",
    "digit_nets",
    "ensemble_model",
    "pair_model",
    "pixel_scaling",
]
