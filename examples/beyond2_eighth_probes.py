"""The plugin of Beyond II's eighth round of validation probes (tuning/results/beyond2_probes/, "Eighth
round"), scored on held-out MNIST-train pairs (`tuning.search --held-out-pairs`): `best`'s recipe (4 deeper
digit nets, label smoothing 0.1, compared at temperature 0.5) read on more test-time views.

- `h_best_views`: the nets of the sixth round's `h_best_tta` (the same seeds and training), each digit read
  as given, shifted by a pixel each way and diagonally (8 shifted copies), and turned by ±5 and ±10
  degrees (`Variant.test_time_rotations`): 13 views, not 5.

For example:

    python -m tuning.search --plugin examples/beyond2_eighth_probes.py --variant h_best_views \
        --lr 0.01 --c-aux 0.4 --rounds 10 --held-out-pairs 5000 --project-dir tuning/runs/h_best_views
"""

from kerascmp import Hyperparameters, Variant, register_variant
from kerascmp.variants.beyond import (
    BEST_MEMBERS,
    COMPARISON_TEMPERATURE,
    DROPOUT,
    LABEL_SMOOTHING,
    LONG_EPOCHS,
    TEST_TIME_SHIFTS,
    adam_cosine,
)

DIAGONAL_SHIFTS = ((1, 1), (1, -1), (-1, 1), (-1, -1))
ROTATIONS = (5.0, -5.0, 10.0, -10.0)


def _pair_model():
    from kerascmp.models import analytic_comparator, build_digit_net, pair_model

    digit_net = build_digit_net(batch_norm=True, dropout=DROPOUT, augment=True, deep=True)
    return pair_model(digit_net, comparator=analytic_comparator(COMPARISON_TEMPERATURE))


register_variant(
    Variant(
        "h_best_views",
        _pair_model,
        Hyperparameters(0.01, 0.4, epochs=LONG_EPOCHS),
        pairing="repair",
        ablation_of="best",
        optimizer=adam_cosine,
        label_smoothing=LABEL_SMOOTHING,
        test_time_shifts=TEST_TIME_SHIFTS + DIAGONAL_SHIFTS,
        test_time_rotations=ROTATIONS,
        members=BEST_MEMBERS,
    )
)
