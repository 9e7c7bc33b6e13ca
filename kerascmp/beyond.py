"""Beyond the report: the `best` recipe, built up one ingredient at a time so each can be measured.

Every row of the ablation (results/beyond/) is a variant: the previous row plus one switch. All use the
report's digit net (kerascmp.models.build_digit_net) and the analytic comparison head, and train only on
the 1000 training pairs. `best` is the last row's recipe as an ensemble of `ENSEMBLE_MEMBERS` nets.

Importing this module is free: TensorFlow loads when a model or an optimiser is first built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kerascmp import defaults
from kerascmp.variants import Hyperparameters, Variant, register_variant

if TYPE_CHECKING:
    import keras

DROPOUT = 0.3
ENSEMBLE_MEMBERS = 3
LONG_EPOCHS = 100


def adam_cosine(learning_rate: float, total_steps: int) -> keras.optimizers.Optimizer:
    """Adam whose rate decays along a cosine to 0 over the run."""
    import keras

    return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, total_steps))


def _analytic_model(**digit_net_switches) -> Callable[[], keras.Model]:
    def build():
        from kerascmp.models import analytic_comparator, build_digit_net, pair_model

        return pair_model(build_digit_net(**digit_net_switches), comparator=analytic_comparator())

    return build


def _step(name: str, label: str, description: str, *, epochs: int = defaults.EPOCHS, **recipe) -> Variant:
    learning_rate, c_aux, source = defaults.DEFAULT_HYPERPARAMETERS[name]
    switches = {key: recipe.pop(key) for key in ("batch_norm", "dropout", "augment") if key in recipe}
    return Variant(
        name,
        _analytic_model(**switches),
        Hyperparameters(learning_rate, c_aux, epochs=epochs),
        source=source,
        label=label,
        description=description,
        **recipe,
    )


_NET = {"batch_norm": True, "dropout": DROPOUT}
_AUGMENTED = {**_NET, "augment": True}
_ADAM = {**_AUGMENTED, "pairing": "repair", "optimizer": adam_cosine}

# The ablation's rows after `main` and `analytic`, in order; each adds one ingredient to the one before.
ABLATION_STEPS = (
    _step("beyond_bn_dropout", "+ batch norm, dropout", f"analytic + BN + dropout {DROPOUT}", **_NET),
    _step("beyond_augment", "+ augmentation", "+ random shifts (1 px) and rotations (10 deg)", **_AUGMENTED),
    _step(
        "beyond_swap",
        "+ swapped pairs",
        "+ each pair's digits swapped at random",
        **_AUGMENTED,
        pairing="swap",
    ),
    _step(
        "beyond_repair",
        "+ re-pairing",
        "+ the 2000 digits re-paired every epoch",
        **_AUGMENTED,
        pairing="repair",
    ),
    _step("beyond_adam", "+ Adam, cosine", "+ Adam with a cosine schedule", **_ADAM),
    _step("beyond_long", f"+ {LONG_EPOCHS} epochs", f"+ {LONG_EPOCHS} epochs", epochs=LONG_EPOCHS, **_ADAM),
    _step(
        "best",
        f"best: ensemble of {ENSEMBLE_MEMBERS}",
        f"analytic head + BN, dropout, augmentation, re-pairing, Adam + cosine, {LONG_EPOCHS} epochs; "
        f"{ENSEMBLE_MEMBERS} nets averaged in probability",
        epochs=LONG_EPOCHS,
        members=ENSEMBLE_MEMBERS,
        **_ADAM,
    ),
)
for _variant in ABLATION_STEPS:
    register_variant(_variant)
ABLATION = ("main", "analytic") + tuple(variant.name for variant in ABLATION_STEPS)
