"""What a variant is, and the registry of variants; it imports no variant (kerascmp.variants does).

A variant is one `Variant`, which carries every fact about it: its name, its table label, its description,
its default hyperparameters and where they came from, its point on the report's grid, its seed identity,
the variant it is an ablation step of, its outputs, whether it trains in stages, its optimiser, and how to
build its model. `train`, `study`, `tuning`, `export` and `predict` read everything from it, so a variant
registered with `kerascmp.register_variant` runs through all of them (README, "Compare your own
architecture"), exactly as kerascmp's own do.

Importing this module is free: it needs neither TensorFlow nor Keras (the analysis reads labels from here).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from kerascmp import defaults, seeds
from kerascmp.errors import VariantError
from kerascmp.names import COMPARISON, DIGIT_OUTPUTS, PAIR_OUTPUTS, PAIRINGS

if TYPE_CHECKING:
    import keras

PRECISIONS = ("float32", "bfloat16")


@dataclass(frozen=True)
class Hyperparameters:
    """What shapes one training run besides its data, seed and variant."""

    learning_rate: float
    c_aux: float = 0.0  # L = c*L_digit1 + c*L_digit2 + (1 - 2c)*L_comparison
    epochs: int = defaults.EPOCHS
    batch_size: int = defaults.BATCH_SIZE
    precision: str = "float32"

    def validate(self) -> None:
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning rate must be a finite number > 0, got {self.learning_rate}")
        if not 0 <= self.c_aux <= 0.5:
            raise ValueError(f"c_aux must be in [0, 0.5], got {self.c_aux}")
        if not 1 <= self.epochs <= defaults.MAX_EPOCHS:
            raise ValueError(f"epochs must be from 1 to {defaults.MAX_EPOCHS:,}, got {self.epochs}")
        if not 1 <= self.batch_size <= defaults.MAX_BATCH_SIZE:
            raise ValueError(
                f"batch size must be from 1 to {defaults.MAX_BATCH_SIZE:,}, got {self.batch_size}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")


@dataclass(frozen=True)
class GridPoint:
    """A variant's best point on the report's grid (5 learning rates up to 0.1), chosen on validation pairs:
    what `study --hyperparameters report` trains (the table in results/)."""

    learning_rate: float
    c_aux: float
    source: str


@dataclass(frozen=True)
class Distillation:
    """Train `teachers` nets of the variant's recipe first, then the run's one net on their averaged digit
    probabilities at `temperature` (Hinton et al., 2015): each digit loss is T² times the cross-entropy
    between the teachers' and the net's probabilities at T; the comparison keeps its true label."""

    teachers: int
    temperature: float = 4.0

    def validate(self, name: str) -> None:
        if self.teachers < 1:
            raise ValueError(f"variant {name}: distillation needs at least 1 teacher")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"variant {name}: the distillation temperature must be a finite number > 0")


@dataclass(frozen=True)
class Variant:
    """One architecture of the study, or your own.

    `build()` returns an uncompiled Keras model from raw pairs, float32 (batch, 2, 14, 14) in 0-255, to a
    dict of logits keyed by `outputs` (kerascmp.names: "comparison", and "digit1", "digit2" for digit
    heads). A `staged` variant trains its digit net first, then its comparator on the frozen digit net;
    its model must hold sub-models named "digit_net" and "comparator" (kerascmp.models builds both).
    `optimizer(learning_rate, total_steps)` returns a fresh Keras optimiser for one run (None: the report's
    plain SGD at a constant rate). `seed_id` keys the variant's seeds in a study (kerascmp.seeds): by
    default its name's CRC-32, so renaming or reordering other variants changes none of its numbers.
    `report_point` is its best point on the report's grid (None: its defaults there too). `ablation_of` is
    the variant it adds one ingredient to, so the study's claims test "this beats that" (None: no such
    claim; the report's own rows are tested by the report's claims). `pairing` says how
    each epoch forms its training pairs (kerascmp.names.PAIRINGS: "fixed", "swap", "repair"). With
    `members` K > 1, a run trains K models from seeds derived from its own and returns their ensemble
    (kerascmp.models.ensemble_model: digit probabilities averaged, compared exactly). `test_time_shifts`
    adds test-time augmentation: the trained model's digit probabilities are averaged over the pairs as
    given and moved by each (rows, cols) whole pixels, in the exported model too; `test_time_rotations`
    adds views turned by each of its angles in degrees (`kerascmp.models.ImageRotation`). `joined` names
    other variants whose nets join the ensemble, one net each: an ensemble of different architectures. Each
    trains as a member of its own variant would (its build, loss, pairing, smoothing), with the run's
    hyperparameters, packed with the rest; all are read on this variant's views and compared at its first
    member's temperature. `distillation` trains the run's one net from teachers (`Distillation`); its cost
    includes theirs, and its training digit curves count disagreements with the teachers, not errors.
    `label_smoothing` e trains both digit outputs on their labels smoothed towards the uniform
    distribution, (1 - e) * one-hot + e / 10. `sam_radius` r > 0 trains by sharpness-aware minimisation
    (kerascmp.engine.sharpness): each step's gradient is taken at the weights moved r (L2) up the gradient,
    for twice the step's cost. `mixup` a > 0 trains on each re-formed pair mixed with another, images and
    one-hot targets weighted w and 1 - w, w ~ Beta(a, a) folded to >= 1/2 (mixup; needs a pairing other than
    "fixed", no distillation).
    """

    name: str
    build: Callable[[], keras.Model]
    defaults: Hyperparameters
    source: str = "set by hand, not tuned"
    label: str = ""  # the table's row label; the name if empty
    description: str = ""
    outputs: tuple[str, ...] = PAIR_OUTPUTS
    staged: bool = False
    optimizer: Callable[[float, int], keras.optimizers.Optimizer] | None = None
    pairing: str = "fixed"
    members: int = 1
    test_time_shifts: tuple[tuple[int, int], ...] = ()
    test_time_rotations: tuple[float, ...] = ()
    joined: tuple[str, ...] = ()
    distillation: Distillation | None = None
    label_smoothing: float = 0.0
    sam_radius: float = 0.0
    mixup: float = 0.0
    seed_id: int | None = None
    report_point: GridPoint | None = None
    ablation_of: str | None = "main"

    def __post_init__(self):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ValueError(f"variant name {self.name!r}: use lower-case letters, digits and _")
        if COMPARISON not in self.outputs or not set(self.outputs) <= set(PAIR_OUTPUTS):
            raise ValueError(
                f"variant {self.name}: outputs must include {COMPARISON!r} and be among {PAIR_OUTPUTS}"
            )
        if self.staged and not self.has_digit_heads:
            raise ValueError(f"variant {self.name}: staged training needs digit outputs")
        if self.pairing not in PAIRINGS:
            raise ValueError(f"variant {self.name}: pairing must be one of {', '.join(PAIRINGS)}")
        if (self.pairing != "fixed" or self.members > 1 or self.test_time_views or self.joined) and (
            self.staged or not self.has_digit_heads
        ):
            raise ValueError(
                f"variant {self.name}: re-pairing, ensembles, joined nets and test-time views need joint "
                "training with digit heads"
            )
        if not all(math.isfinite(degrees) and degrees != 0 for degrees in self.test_time_rotations):
            raise ValueError(f"variant {self.name}: test-time rotations must be finite, non-zero degrees")
        if self.members < 1:
            raise ValueError(f"variant {self.name}: members must be >= 1")
        if self.distillation is not None:
            self.distillation.validate(self.name)
            if self.nets > 1 or self.staged or not self.has_digit_heads:
                raise ValueError(
                    f"variant {self.name}: distillation trains one net with digit heads, jointly"
                )
        if not (math.isfinite(self.label_smoothing) and 0 <= self.label_smoothing < 1):
            raise ValueError(f"variant {self.name}: label smoothing must be in [0, 1)")
        if self.label_smoothing and (not self.uses_c_aux or self.distillation):
            raise ValueError(
                f"variant {self.name}: label smoothing needs digit outputs trained jointly on labels"
            )
        if not (math.isfinite(self.sam_radius) and self.sam_radius >= 0):
            raise ValueError(f"variant {self.name}: the SAM radius must be a finite number >= 0")
        if not (math.isfinite(self.mixup) and self.mixup >= 0):
            raise ValueError(f"variant {self.name}: mixup's alpha must be a finite number >= 0")
        if self.mixup and (self.pairing == "fixed" or self.distillation):
            raise ValueError(
                f"variant {self.name}: mixup mixes re-formed pairs: it needs a pairing other than fixed "
                "and no distillation"
            )
        if not self.label:
            object.__setattr__(self, "label", self.name)
        if self.seed_id is None:
            object.__setattr__(self, "seed_id", seeds.name_id(self.name))

    @property
    def has_digit_heads(self) -> bool:
        return all(output in self.outputs for output in DIGIT_OUTPUTS)

    @property
    def nets(self) -> int:
        """How many nets a run returns (averaged as one model where more than 1): members, joined nets."""
        return self.members + len(self.joined)

    @property
    def test_time_views(self) -> int:
        """How many views besides the pairs as given the trained model averages: shifted and rotated."""
        return len(self.test_time_shifts) + len(self.test_time_rotations)

    @property
    def uses_c_aux(self) -> bool:
        """Whether the loss has auxiliary digit terms to weight (staged training trains the digits alone)."""
        return self.has_digit_heads and not self.staged

    def model_seeds(self, seed: int) -> list[int]:
        """The seeds of the nets a run from `seed` returns: an ensemble's members, then its joined nets, as
        the members of an ensemble of as many; or a distilled run's one net, the seed after its teachers'
        (which are the members of an ensemble of as many: kerascmp.seeds)."""
        if self.distillation:
            return [seeds.student_seed(seed, self.distillation.teachers)]
        return seeds.member_seeds(seed, self.nets)

    def net_variants(self) -> list[Variant]:
        """The variant each of a run's nets is built and trained as: itself for its members, then each
        joined variant (`check_joined` has checked that they can train with it)."""
        return [self] * self.members + [_REGISTRY[name] for name in self.joined]

    def check_joined(self) -> None:
        """Refuse, as a `VariantError`, joined nets that cannot train in one step with this variant's: one
        that is unknown, itself, staged, without digit heads, distilled, with joined nets of its own, or
        with another optimiser or SAM radius (kerascmp.engine.sharpness). Run when the variant is resolved
        (`get_variant`), so that every command refuses before any work."""
        for name in self.joined:
            other = _REGISTRY.get(name)
            if other is None:
                raise VariantError(
                    f"variant {self.name}: joined variant {name!r} is not registered; choose among "
                    f"{', '.join(_REGISTRY)}, or load its --plugin"
                )
            if other.name == self.name:
                raise VariantError(f"variant {self.name} joins itself; raise its members instead")
            if other.staged or not other.has_digit_heads or other.distillation or other.joined:
                raise VariantError(
                    f"variant {self.name}: joined variant {other.name} must train one net with digit heads, "
                    "jointly, without distillation or joined nets of its own"
                )
            if other.optimizer is not self.optimizer:  # one step trains them all (engine.fitting)
                raise VariantError(
                    f"variant {self.name}: joined variant {other.name} trains with another optimiser "
                    f"({_factory_name(other.optimizer)}, not {_factory_name(self.optimizer)}); the nets of "
                    "a run train in one step, so they must share it"
                )
            if other.sam_radius != self.sam_radius:  # one step trains them all (kerascmp.engine.sharpness)
                raise VariantError(
                    f"variant {self.name}: joined variant {other.name} must share its SAM radius "
                    f"({other.sam_radius:g}, not {self.sam_radius:g})"
                )

    def hyperparameters(self, **overrides) -> Hyperparameters:
        """The variant's defaults, with the `overrides` that are not None."""
        return replace(self.defaults, **{k: v for k, v in overrides.items() if v is not None})

    def protocol_hyperparameters(self, protocol: str, **overrides) -> Hyperparameters:
        """Its hyperparameters under a study's protocol: "tuned" (its defaults) or "report" (its best point
        on the report's grid where it has one), with the `overrides` that are not None."""
        point = self.report_point if protocol == "report" else None
        if point is not None:
            overrides = {"learning_rate": point.learning_rate, "c_aux": point.c_aux, **overrides}
        return self.hyperparameters(**overrides)


_REGISTRY: dict[str, Variant] = {}
_BUILT_IN: set[str] = set()  # kerascmp's own variants: protected from being registered again


def register_variant(variant: Variant, *, built_in: bool = False) -> Variant:
    """Make `variant` known to every command; registering a name again replaces it (a reloaded plugin).
    kerascmp's own declarations pass `built_in`, which keeps their names from being taken."""
    if not isinstance(variant, Variant):
        raise TypeError(f"register_variant takes a kerascmp.Variant, got {type(variant).__name__}")
    if variant.name in _BUILT_IN:
        raise ValueError(f"{variant.name!r} is one of kerascmp's own variants; give yours another name")
    _REGISTRY[variant.name] = variant
    if built_in:
        _BUILT_IN.add(variant.name)
    return variant


def get_variant(name: str) -> Variant:
    """The registered variant `name`, its joined nets checked (`Variant.check_joined`)."""
    try:
        variant = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; choose one of {', '.join(_REGISTRY)}") from None
    variant.check_joined()
    return variant


def _factory_name(optimizer) -> str:
    return "the report's SGD" if optimizer is None else getattr(optimizer, "__name__", repr(optimizer))


def variant_names() -> tuple[str, ...]:
    """Every registered variant: the study's first, then yours in the order they were registered."""
    return tuple(_REGISTRY)


def load_plugin(spec: str) -> None:
    """Import a file (`examples/wide_digit_net.py`) or a module (`mypackage.variants`) that registers
    variants."""
    try:
        if spec.endswith(".py") or "/" in spec:
            path = Path(spec)
            if not path.is_file():
                raise ValueError(f"plugin {spec}: no such file")
            module_name = "kerascmp_plugin_" + re.sub(r"\W", "_", path.stem)
            module_spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_name] = module  # dataclasses and pickling look their module up here
            module_spec.loader.exec_module(module)
        else:
            importlib.import_module(spec)
    except ValueError:
        raise
    except Exception as err:  # whatever the user's code raises, reported in one line
        raise ValueError(f"plugin {spec} failed to load: {type(err).__name__}: {err}") from err
