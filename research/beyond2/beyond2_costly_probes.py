"""The plugin of Beyond II's third round of validation probes (research/beyond2/results/, "Third
round"), each `beyond_deep`'s recipe with one change:

- `r_wide`: the deeper digit net at twice the width (64/128 filters, 400 hidden units): about 3x the cost;
- `r_dropout5`: dropout 0.5 instead of 0.3, at no extra cost;
- `r_adamw`: decoupled weight decay (AdamW, 0.1 x the rate per step), at no extra cost;
- `r_members8`: an ensemble of 8 deeper nets, to train for 50 epochs (`--epochs 50`): `best`'s cost, twice
  its members;
- `r_distill`: one deeper net distilled from 4 teachers (`best`'s members: the same seeds) at temperature 4:
  `best`'s cost and one net's more.

200 epochs instead of 100 needs no plugin (`--variant beyond_deep --epochs 200`). For example:

    python -m tuning.search --plugin research/beyond2/beyond2_costly_probes.py --variant r_wide \
        --lr 0.01 --c-aux 0.4 --rounds 10 --project-dir tuning/runs/r_wide
"""

import keras

from kerascmp import Distillation, Hyperparameters, Variant, register_variant
from kerascmp.variants.beyond import DROPOUT, LONG_EPOCHS, adam_cosine

WEIGHT_DECAY = 0.1


def adamw_cosine(learning_rate: float, total_steps: int) -> keras.optimizers.Optimizer:
    """beyond_deep's Adam + cosine, with decoupled weight decay."""
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
    return keras.optimizers.AdamW(schedule, weight_decay=WEIGHT_DECAY)


def _pair_model(**digit_net_changes):
    def build():
        from kerascmp.models import analytic_comparator, build_digit_net, pair_model

        switches = {"batch_norm": True, "dropout": DROPOUT, "augment": True, "deep": True}
        return pair_model(
            build_digit_net(**{**switches, **digit_net_changes}), comparator=analytic_comparator()
        )

    return build


for name, changes, optimizer, members, distillation in (
    ("r_wide", {"width": 2}, adam_cosine, 1, None),
    ("r_dropout5", {"dropout": 0.5}, adam_cosine, 1, None),
    ("r_adamw", {}, adamw_cosine, 1, None),
    ("r_members8", {}, adam_cosine, 8, None),
    ("r_distill", {}, adam_cosine, 1, Distillation(teachers=4, temperature=4.0)),
):
    register_variant(
        Variant(
            name,
            _pair_model(**changes),
            Hyperparameters(0.01, 0.4, epochs=LONG_EPOCHS),
            optimizer=optimizer,
            pairing="repair",
            members=members,
            distillation=distillation,
            ablation_of="beyond_deep",
        )
    )
