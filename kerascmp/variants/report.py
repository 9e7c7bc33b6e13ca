"""The report's variants (its six, its ReLU row, main at either end of its c_aux range) and `analytic`, each
one declaration with all its facts.

Each is a composition of switches over the report's digit net and comparison layer
(kerascmp.models.build_report_model). Defaults are the best points of the adaptive searches on the wide grid
(9 learning rates, 1e-4..1.0; 3 rounds per point, 10 for every point that could still be best: the table in
results/tuned/); `report_point` is the best point of the report's grid (5 learning rates, 1e-4..0.1; 3
rounds per point: the table in results/). Both were chosen on validation pairs only (mean validation
comparison error; tuning/results/README.md has the commands). `seed_id` keeps each variant's seeds as the
study has always drawn them: its row in the report's table, in the order below.

Importing this module is free: TensorFlow loads when a model is first built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kerascmp.names import COMPARISON, PAIR_OUTPUTS
from kerascmp.variants.registry import GridPoint, Hyperparameters, Variant, register_variant

if TYPE_CHECKING:
    import keras


def _report_model(**switches) -> Callable[[], keras.Model]:
    """The builder of one of the report's variants (kerascmp.models, imported on first build)."""

    def build():
        from kerascmp.models import build_report_model

        return build_report_model(**switches)

    return build


def _report_variant(
    name: str,
    label: str,
    description: str,
    *,
    tuned: tuple[float, float, str],
    report_point: tuple[float, float, str] | None,
    seed_id: int | None = None,
    ablation_of: str | None = None,
    **switches,
) -> Variant:
    learning_rate, c_aux, source = tuned
    staged = switches.pop("separate_training", False)
    return Variant(
        name,
        _report_model(**switches),
        Hyperparameters(learning_rate, c_aux),
        source=source,
        label=label,
        description=description,
        outputs=(COMPARISON,) if switches.get("fully_connected") else PAIR_OUTPUTS,
        staged=staged,
        seed_id=seed_id,
        report_point=GridPoint(*report_point) if report_point else None,
        ablation_of=ablation_of,
    )


MAIN_REPORT_POINT = (0.1, 0.25, "tuning/results/main: best of 5 lr x 11 c_aux, val cmp error 13.67 ± 0.29 %")
MAIN_TUNED = (
    0.562,
    0.3,
    "tuning/results/main_adaptive: best of 9 lr x 11 c_aux, 10 rounds, val cmp 11.50 ± 3.12 %",
)
SAME_AS_MAIN = "main's values: the row measures the ReLU alone, at main's settings"

for _variant in (
    _report_variant(
        "main",
        "main architecture",
        "shared digit net + auxiliary digit losses",
        tuned=MAIN_TUNED,
        report_point=MAIN_REPORT_POINT,
        seed_id=0,
    ),
    _report_variant(
        "no_sharing",
        "no shared weights",
        "two independent digit nets",
        tuned=(
            0.562,
            0.4,
            "tuning/results/no_sharing_adaptive: best of 9 lr x 4 c_aux, 10 rounds, val cmp 13.65 ± 2.47 %",
        ),
        report_point=(
            0.1,
            0.25,
            "tuning/results/no_sharing: best of 5 lr at main's c_aux, val 15.50 ± 1.50 %",
        ),
        seed_id=1,
        shared_weights=False,
    ),
    _report_variant(
        "noise_removal",
        "noise removal",
        "one-hot argmax of the digit outputs into the comparison",
        tuned=(
            1.0,
            0.1,
            "tuning/results/noise_removal_adaptive: best of 9 lr x 4 c_aux, 10 rounds, val cmp 3.30 ± 1.09 %",
        ),
        report_point=(
            0.1,
            0.25,
            "tuning/results/noise_removal: best of 5 lr at main's c_aux, val 10.17 ± 3.01 %",
        ),
        seed_id=2,
        noise_removal=True,
    ),
    _report_variant(
        "separate",
        "separate training",
        "digit net trained first on digits, then frozen",
        tuned=(
            0.0178,
            0.0,
            "tuning/results/separate_adaptive: best of 9 lr, 10 rounds, val cmp 19.20 ± 3.65 %; c_aux unused",
        ),
        report_point=(0.0178, 0.0, "tuning/results/separate: best of 5 lr, val 18.50 ± 2.50 %; c_aux unused"),
        seed_id=3,
        separate_training=True,
    ),
    _report_variant(
        "separate_noise_removal",
        "separate + noise removal",
        "separate training + noise removal",
        tuned=(
            0.316,
            0.0,
            "tuning/results/separate_noise_removal_adaptive: best of 9 lr, 10 rounds, val cmp 4.00 ± 1.13 %; "
            "c_aux unused",
        ),
        report_point=(
            0.1,
            0.0,
            "tuning/results/separate_noise_removal: best of 5 lr, val 4.17 ± 1.15 %; c_aux unused",
        ),
        seed_id=4,
        separate_training=True,
        noise_removal=True,
    ),
    _report_variant(
        "fc_baseline",
        "fully connected net",
        "fully connected net with the same parameter count",
        tuned=(
            0.562,
            0.0,
            "tuning/results/fc_baseline_adaptive: best of 9 lr, 10 rounds, val cmp 19.55 ± 2.95 %; "
            "c_aux unused",
        ),
        report_point=(0.1, 0.0, "tuning/results/fc_baseline: best of 5 lr, val 21.50 ± 3.61 %; c_aux unused"),
        seed_id=5,
        fully_connected=True,
    ),
    _report_variant(
        "main_paper_relu",
        "main, report's ReLU on logits",
        "main with the report's ReLU after the comparison layer",
        tuned=(*MAIN_TUNED[:2], SAME_AS_MAIN),
        report_point=(*MAIN_REPORT_POINT[:2], SAME_AS_MAIN),
        seed_id=6,
        paper_relu=True,
    ),
    # The two ends of main's c_aux range, each at its own best learning rate on main's grids (fair
    # baselines for the report's claims about c_aux; kerascmp.analysis.claims).
    _report_variant(
        "main_no_aux",
        "main, no auxiliary losses",
        "main trained on the comparison loss alone (c_aux 0)",
        tuned=(
            0.178,
            0.0,
            "tuning/results/main_adaptive: best of 9 lr at c_aux 0, 10 rounds, val cmp 14.95 ± 2.18 %",
        ),
        report_point=(0.0178, 0.0, "tuning/results/main: best of 5 lr at c_aux 0, val cmp 16.00 ± 0.00 %"),
        seed_id=7,
    ),
    _report_variant(
        "main_aux_only",
        "main, digit losses only",
        "main trained on the digit losses alone (c_aux 0.5: the comparison loss has weight 0)",
        tuned=(
            0.000562,
            0.5,
            "tuning/results/main_adaptive: best of 9 lr at c_aux 0.5, 3 rounds, val cmp 49.67 ± 8.81 %",
        ),
        report_point=(
            0.000562,
            0.5,
            "tuning/results/main: best of 5 lr at c_aux 0.5, val cmp 49.67 ± 8.81 %",
        ),
    ),
    # Beyond the report: its digit net with the exact comparison P(a <= b) in place of the learned layer.
    _report_variant(
        "analytic",
        "main, analytic comparison",
        "main with the parameter-free head P(a <= b)",
        tuned=(0.1, 0.25, "the report-protocol main's values: the row measures the analytic head alone"),
        report_point=None,
        seed_id=416006609,  # CRC-32 of its name, as studies before seed ids drew it
        ablation_of="main",
        analytic=True,
    ),
):
    register_variant(_variant, built_in=True)
