"""Beyond the report: the `best` recipe, built up one ingredient at a time so each can be measured.

Every row of the two ablations is a variant: the previous row plus one switch (its `ablation_of`). All use
the analytic comparison head and train only on the 1000 training pairs. The first ablation
(results/beyond/) keeps the report's digit net (kerascmp.models.build_digit_net) and ends in
`beyond_ensemble`, `ENSEMBLE_MEMBERS` of its last single net; the second (results/beyond2/) goes on from
`beyond_long` with a deeper digit net, distils `BEST_MEMBERS` of those into one (`beyond_distilled`), adds
label smoothing (`beyond_smooth`), compares its digits sharpened (`beyond_sharp`), reads them also shifted
by a pixel each way (`beyond_tta`, `Variant.test_time_shifts`: it helped the smoothed net on held-out
pairs, not the unsmoothed one on split-off pairs), reads them upsampled to 28x28 (`beyond_upsampled`, the
`upsample` switch), and ends in `best`: `BEST_MEMBERS` nets, `beyond_tta`'s but for `UPSAMPLED_MEMBERS`
of `beyond_upsampled`'s (`Variant.joined`: an upsampled net trains about 4x as long, and errs on other
digits), each digit also read shifted diagonally and turned by a few degrees (`Variant.test_time_rotations`).
Elastic distortions (the `elastic` switch) were tried on validation pairs and left out; every choice is in
research/beyond2/results.
Each row keeps the row before's learning rate and c_aux unless it changes the optimiser; each `seed_id` is
its name's CRC-32, as studies before seed ids drew it, but for `beyond_ensemble` (an earlier `best`: it
keeps that name's seeds, and its numbers; docs/HISTORY.md), `best` ("beyond2_best"'s), `beyond_distilled`
(best's, so that its teachers start from the seeds of best's nets), and `beyond_sharp` and `beyond_tta`
(beyond_smooth's: the same nets).

Importing this module is free: TensorFlow loads when a model or an optimiser is first built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kerascmp import defaults
from kerascmp.variants import report  # noqa: F401  (the ablation starts from the report's rows: they register first)
from kerascmp.variants.registry import Distillation, Hyperparameters, Variant, register_variant

if TYPE_CHECKING:
    import keras

# build_digit_net's switches
DIGIT_NET_SWITCHES = ("batch_norm", "dropout", "augment", "elastic", "width", "deep", "upsample")
DROPOUT = 0.3
ENSEMBLE_MEMBERS = 3
BEST_MEMBERS = 4  # nets: about 4 minutes a round on 2 cores (results/beyond2/README.md)
UPSAMPLED_MEMBERS = 1  # of best's nets, those upsampled (beyond_upsampled's): about 4x the training each
LABEL_SMOOTHING = 0.1
COMPARISON_TEMPERATURE = 0.5  # sharpens the smoothed digits before comparing (Sharpening)
LONG_EPOCHS = 100
TEST_TIME_SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # one pixel each way: within the training shifts
DIAGONAL_SHIFTS = ((1, 1), (1, -1), (-1, 1), (-1, -1))
TEST_TIME_ROTATIONS = (5.0, -5.0, 10.0, -10.0)  # degrees: within the training rotations


def adam_cosine(learning_rate: float, total_steps: int) -> keras.optimizers.Optimizer:
    """Adam whose rate decays along a cosine to 0 over the run."""
    import keras

    return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, total_steps))


def _analytic_model(comparison_temperature: float, **digit_net_switches) -> Callable[[], keras.Model]:
    def build():
        from kerascmp.models import analytic_comparator, build_digit_net, pair_model

        comparator = analytic_comparator(comparison_temperature)
        return pair_model(build_digit_net(**digit_net_switches), comparator=comparator)

    return build


def _step(
    name: str,
    label: str,
    description: str,
    *,
    after: str,
    tuned: tuple[float, float, str],
    seed_id: int,
    epochs: int = defaults.EPOCHS,
    comparison_temperature: float = 1.0,
    **recipe,
) -> Variant:
    learning_rate, c_aux, source = tuned
    switches = {key: recipe.pop(key) for key in DIGIT_NET_SWITCHES if key in recipe}
    return Variant(
        name,
        _analytic_model(comparison_temperature, **switches),
        Hyperparameters(learning_rate, c_aux, epochs=epochs),
        source=source,
        label=label,
        description=description,
        seed_id=seed_id,
        ablation_of=after,
        **recipe,
    )


ANALYTIC = (0.1, 0.25, "analytic's values")
ADAM_TUNED = (
    0.01,
    0.4,
    "tuning/results/beyond_adam_lr_above_grid: lr 0.01 x c_aux 0.25, 0.4, past the edge of beyond_adam/ "
    "(3 lr x 3 c_aux), 10 rounds, val cmp 1.45 ± 0.64 %",
)
# Tuned at 50 epochs (beyond_adam), kept at 100 and for the ensemble's members.
ADAM = (*ADAM_TUNED[:2], "beyond_adam's values")
_NET = {"batch_norm": True, "dropout": DROPOUT}
_AUGMENTED = {**_NET, "augment": True}
_ADAM = {**_AUGMENTED, "pairing": "repair", "optimizer": adam_cosine}
_DEEP = {**_ADAM, "deep": True}
_SMOOTH = {**_DEEP, "label_smoothing": LABEL_SMOOTHING}
_SHARP = {**_SMOOTH, "comparison_temperature": COMPARISON_TEMPERATURE}
_SHIFTED = {**_SHARP, "test_time_shifts": TEST_TIME_SHIFTS}
_MORE_VIEWS = {
    **_SHARP,
    "test_time_shifts": TEST_TIME_SHIFTS + DIAGONAL_SHIFTS,
    "test_time_rotations": TEST_TIME_ROTATIONS,
}
SMOOTH_NETS_SEED_ID = 2782174830  # beyond_smooth's; beyond_sharp and beyond_tta read the same nets
DISTILLED = Distillation(teachers=BEST_MEMBERS)
_VIEWS = 1 + len(_MORE_VIEWS["test_time_shifts"]) + len(TEST_TIME_ROTATIONS)

# The ablation's rows after `main` and `analytic`, in order; each adds one ingredient to the one before.
for _variant in (
    _step(
        "beyond_bn_dropout",
        "+ batch norm, dropout",
        f"analytic + BN + dropout {DROPOUT}",
        after="analytic",
        tuned=ANALYTIC,
        seed_id=1897817892,
        **_NET,
    ),
    _step(
        "beyond_augment",
        "+ augmentation",
        "+ random shifts (1 px) and rotations (10 deg)",
        after="beyond_bn_dropout",
        tuned=ANALYTIC,
        seed_id=3787858675,
        **_AUGMENTED,
    ),
    _step(
        "beyond_swap",
        "+ swapped pairs",
        "+ each pair's digits swapped at random",
        after="beyond_augment",
        tuned=ANALYTIC,
        seed_id=4148358699,
        **_AUGMENTED,
        pairing="swap",
    ),
    _step(
        "beyond_repair",
        "+ re-pairing",
        "+ the 2000 digits re-paired every epoch",
        after="beyond_swap",
        tuned=ANALYTIC,
        seed_id=1578301871,
        **_AUGMENTED,
        pairing="repair",
    ),
    _step(
        "beyond_adam",
        "+ Adam, cosine",
        "+ Adam with a cosine schedule",
        after="beyond_repair",
        tuned=ADAM_TUNED,
        seed_id=1882456271,
        **_ADAM,
    ),
    _step(
        "beyond_long",
        f"+ {LONG_EPOCHS} epochs",
        f"+ {LONG_EPOCHS} epochs",
        after="beyond_adam",
        tuned=ADAM,
        seed_id=3913728546,
        epochs=LONG_EPOCHS,
        **_ADAM,
    ),
    _step(
        "beyond_ensemble",
        f"+ ensemble of {ENSEMBLE_MEMBERS}",
        f"analytic head + BN, dropout, augmentation, re-pairing, Adam + cosine, {LONG_EPOCHS} epochs; "
        f"{ENSEMBLE_MEMBERS} nets averaged in probability",
        after="beyond_long",
        tuned=ADAM,
        seed_id=2903340623,
        epochs=LONG_EPOCHS,
        members=ENSEMBLE_MEMBERS,
        **_ADAM,
    ),
    # The second ablation (results/beyond2/), from beyond_long.
    _step(
        "beyond_deep",
        "+ deeper digit net",
        "+ four 3x3 convolutions and two 2x2 pools instead of the report's 3x3, 5x5 and 4x4 pool",
        after="beyond_long",
        tuned=ADAM,
        seed_id=1094857495,
        epochs=LONG_EPOCHS,
        **_DEEP,
    ),
    _step(
        "beyond_distilled",
        f"+ distilled from {BEST_MEMBERS} teachers",
        f"beyond_deep's one net, trained on the averaged digit probabilities (temperature "
        f"{DISTILLED.temperature:g}) of {BEST_MEMBERS} beyond_deep nets trained first from the seeds of "
        f"`best`'s members",
        after="beyond_deep",
        tuned=ADAM,
        seed_id=3533267765,  # best's: its teachers start from the seeds of best's members
        epochs=LONG_EPOCHS,
        distillation=DISTILLED,
        **_DEEP,
    ),
    _step(
        "beyond_smooth",
        "+ label smoothing",
        f"+ both digit losses on labels smoothed by {LABEL_SMOOTHING:g} towards the uniform distribution",
        after="beyond_deep",
        tuned=ADAM,
        seed_id=SMOOTH_NETS_SEED_ID,
        epochs=LONG_EPOCHS,
        **_SMOOTH,
    ),
    _step(
        "beyond_sharp",
        "+ sharpened comparison",
        f"+ the comparison reads the digit probabilities sharpened at temperature "
        f"{COMPARISON_TEMPERATURE:g} (inference only: the same nets as beyond_smooth)",
        after="beyond_smooth",
        tuned=ADAM,
        seed_id=SMOOTH_NETS_SEED_ID,  # the same nets, so the pair differs only in the comparison
        epochs=LONG_EPOCHS,
        **_SHARP,
    ),
    _step(
        "beyond_tta",
        "+ test-time shifts",
        "+ each digit also read shifted by one pixel up, down, left and right, the 5 views' probabilities "
        "averaged before comparing (inference only: the same nets as beyond_sharp)",
        after="beyond_sharp",
        tuned=ADAM,
        seed_id=SMOOTH_NETS_SEED_ID,  # the same nets, so the pair differs only in the scoring
        epochs=LONG_EPOCHS,
        **_SHIFTED,
    ),
    _step(
        "beyond_upsampled",
        "+ upsampled input",
        "+ the digit net reads its image upsampled to 28x28 (bilinear), with a third 2x2 pool: the same "
        "parameters on finer maps, about 4x the training",
        after="beyond_tta",
        tuned=ADAM,
        seed_id=912377370,
        epochs=LONG_EPOCHS,
        upsample=True,
        **_SHIFTED,
    ),
    _step(
        "best",
        f"best: ensemble of {BEST_MEMBERS}, {_VIEWS} views",
        f"analytic head + deeper digit net, BN, dropout, augmentation, re-pairing, Adam + cosine, "
        f"{LONG_EPOCHS} epochs, label smoothing {LABEL_SMOOTHING:g}; {BEST_MEMBERS - UPSAMPLED_MEMBERS} "
        f"such nets and {UPSAMPLED_MEMBERS} beyond_upsampled net averaged in probability over {_VIEWS} views "
        f"of each digit (as given; shifted by a pixel in each of 8 directions; turned by "
        f"{', '.join(f'{d:+g}' for d in TEST_TIME_ROTATIONS)} degrees), compared at temperature "
        f"{COMPARISON_TEMPERATURE:g}",
        after="beyond_tta",
        tuned=ADAM,
        seed_id=3533267765,  # its first 3 nets are those of the earlier bests
        epochs=LONG_EPOCHS,
        members=BEST_MEMBERS - UPSAMPLED_MEMBERS,
        joined=("beyond_upsampled",) * UPSAMPLED_MEMBERS,
        **_MORE_VIEWS,
    ),
):
    register_variant(_variant, built_in=True)
