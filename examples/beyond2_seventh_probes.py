"""The plugin of Beyond II's seventh round of validation probes (tuning/results/beyond2_probes/, "Seventh
round"), scored on held-out MNIST-train pairs (`tuning.search --held-out-pairs`): the upsampled digit net
(`build_digit_net(upsample=True)`) on `beyond_tta`'s recipe (the deeper digit net, label smoothing 0.1,
compared at temperature 0.5, each digit also read shifted by a pixel each way):

- `h_best_upsampled`: an ensemble of 2 upsampled nets of 50 epochs each, about the training of `best`'s
  4 nets of 100 epochs;
- `h_upsample_tta`: one upsampled net of 100 epochs (the `beyond_upsampled` row).

For example:

    python -m tuning.search --plugin examples/beyond2_seventh_probes.py --variant h_best_upsampled \
        --lr 0.01 --c-aux 0.4 --rounds 10 --held-out-pairs 5000 --project-dir tuning/runs/h_best_upsampled
"""

from kerascmp import Hyperparameters, Variant, register_variant
from kerascmp.variants.beyond import (
    COMPARISON_TEMPERATURE,
    DROPOUT,
    LABEL_SMOOTHING,
    LONG_EPOCHS,
    TEST_TIME_SHIFTS,
    adam_cosine,
)


def _upsampled_pair_model():
    from kerascmp.models import analytic_comparator, build_digit_net, pair_model

    digit_net = build_digit_net(batch_norm=True, dropout=DROPOUT, augment=True, deep=True, upsample=True)
    return pair_model(digit_net, comparator=analytic_comparator(COMPARISON_TEMPERATURE))


for name, epochs, members in (("h_best_upsampled", LONG_EPOCHS // 2, 2), ("h_upsample_tta", LONG_EPOCHS, 1)):
    register_variant(
        Variant(
            name,
            _upsampled_pair_model,
            Hyperparameters(0.01, 0.4, epochs=epochs),
            pairing="repair",
            ablation_of="beyond_tta",
            optimizer=adam_cosine,
            label_smoothing=LABEL_SMOOTHING,
            test_time_shifts=TEST_TIME_SHIFTS,
            members=members,
        )
    )
