"""Building a variant's model: from its seed alone, in its precision, checked against its declaration."""

from __future__ import annotations

import contextlib

import keras

from kerascmp.errors import VariantError
from kerascmp.names import CLASSES
from kerascmp.variants import Variant, get_variant


@contextlib.contextmanager
def precision_policy(precision: str):
    """Build and train under `mixed_bfloat16` when asked; layers keep the policy they were built with."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_model(variant: str, *, seed: int, precision: str) -> keras.Model:
    """A variant's model, initialised from `seed` alone, in `precision`, checked against its declaration;
    a plugin's build() that fails or returns another model raises VariantError, which says what is wrong."""
    definition = get_variant(variant)
    with precision_policy(precision):
        keras.utils.set_random_seed(seed)  # Python, NumPy and Keras: initialisation from the seed alone
        try:
            model = definition.build()
        except Exception as err:  # the user's code: whatever it raises, reported in one line
            raise VariantError(f"variant {variant}: build() raised {type(err).__name__}: {err}") from err
    check_model(definition, model)
    return model


def float32_copy(model: keras.Model) -> keras.Model:
    """The model as it is served and scored: the same weights (float32 under every policy) in float32
    layers, rebuilt from its config. A mixed-bfloat16 graph neither converts to ONNX Runtime or LiteRT nor
    rounds the same as one, so exports and error rates both come from this copy."""
    config = model.get_config()
    float32_config = _float32_policies(config)
    if float32_config == config:
        return model
    copy = model.__class__.from_config(float32_config)
    copy.set_weights(model.get_weights())
    return copy


def precision_of(model: keras.Model) -> str:
    """The precision a model computes in: "bfloat16" if any of its layers runs mixed bfloat16."""
    return "float32" if _float32_policies(model.get_config()) == model.get_config() else "bfloat16"


def _float32_policies(config):
    """A model config with every layer's dtype policy set to float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and isinstance(config.get("config"), dict):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_policies(value) for value in config]
    return config


def check_model(variant: Variant, model) -> None:
    """The model a variant builds takes raw pairs (batch, 2, 14, 14) and returns a dict of logits keyed by
    exactly its declared outputs, with 2 comparison and 10 digit classes."""
    where = f"variant {variant.name}: build()"
    if not isinstance(model, keras.Model):
        raise VariantError(f"{where} returned a {type(model).__name__}, not a keras.Model")
    if len(model.inputs) != 1 or tuple(model.inputs[0].shape[1:]) != (2, 14, 14):
        shapes = ", ".join(str(tuple(i.shape)) for i in model.inputs)
        raise VariantError(f"{where} returned a model taking {shapes}; it must take pairs (None, 2, 14, 14)")
    if not isinstance(model.output, dict):
        raise VariantError(
            f"{where} returned a model whose output is a {type(model.output).__name__}; it must be a dict "
            f"of logits keyed by {', '.join(variant.outputs)} (kerascmp.names)"
        )
    if set(model.output) != set(variant.outputs):
        raise VariantError(
            f"{where} returned outputs {', '.join(sorted(model.output))}; the variant declares "
            f"{', '.join(variant.outputs)} (set Variant(outputs=...) or rename the model's outputs)"
        )
    for name, tensor in model.output.items():
        if tuple(tensor.shape[1:]) != (CLASSES[name],):
            raise VariantError(
                f"{where}: output {name!r} has shape {tuple(tensor.shape)}; it must be (None, "
                f"{CLASSES[name]}), logits of {CLASSES[name]} classes"
            )
