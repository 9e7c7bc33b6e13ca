"""The plugin of Beyond II's seventh round of validation probes (research/beyond2/results/, "Seventh
round"), scored on held-out MNIST-train pairs (`tuning.search --held-out-pairs`): the upsampled digit net
(`build_digit_net(upsample=True)`) on `beyond_tta`'s recipe (the deeper digit net, label smoothing 0.1,
compared at temperature 0.5, each digit also read shifted by a pixel each way):

- `h_best_upsampled`: an ensemble of 2 upsampled nets of 50 epochs each, about the training of `best`'s
  4 nets of 100 epochs;
- `h_upsample_tta`: one upsampled net of 100 epochs (the `beyond_upsampled` row);
- `h_tta8`: not upsampled, the nets of the sixth round's `h_tta` (the same seeds and training), read also
  shifted diagonally: 8 shifted copies, not 4.

For example:

    python -m tuning.search --plugin research/beyond2/beyond2_seventh_probes.py --variant h_best_upsampled \
        --lr 0.01 --c-aux 0.4 --rounds 10 --held-out-pairs 5000 --project-dir tuning/runs/h_best_upsampled
"""

from kerascmp import Hyperparameters, Variant, register_variant
from kerascmp.variants.beyond import (
    COMPARISON_TEMPERATURE,
    DIAGONAL_SHIFTS,
    DROPOUT,
    LABEL_SMOOTHING,
    LONG_EPOCHS,
    TEST_TIME_SHIFTS,
    adam_cosine,
)


def _pair_model(upsample: bool):
    def build():
        from kerascmp.models import analytic_comparator, build_digit_net, pair_model

        digit_net = build_digit_net(
            batch_norm=True, dropout=DROPOUT, augment=True, deep=True, upsample=upsample
        )
        return pair_model(digit_net, comparator=analytic_comparator(COMPARISON_TEMPERATURE))

    return build


for name, upsample, epochs, members, shifts in (
    ("h_best_upsampled", True, LONG_EPOCHS // 2, 2, TEST_TIME_SHIFTS),
    ("h_upsample_tta", True, LONG_EPOCHS, 1, TEST_TIME_SHIFTS),
    ("h_tta8", False, LONG_EPOCHS, 1, TEST_TIME_SHIFTS + DIAGONAL_SHIFTS),
):
    register_variant(
        Variant(
            name,
            _pair_model(upsample),
            Hyperparameters(0.01, 0.4, epochs=epochs),
            pairing="repair",
            ablation_of="beyond_tta",
            optimizer=adam_cosine,
            label_smoothing=LABEL_SMOOTHING,
            test_time_shifts=shifts,
            members=members,
        )
    )
