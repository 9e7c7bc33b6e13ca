"""The names that several modules share: model outputs, error keys, learning-curve keys, exported outputs,
pairings.

Every model maps raw pairs to a dict of logits keyed by these output names; training, evaluation, the
study's tables, the search and the export all read them from here.
"""

from __future__ import annotations

COMPARISON = "comparison"  # 2 logits: first digit > second, first digit <= second
DIGIT1 = "digit1"  # 10 logits: the first image's digit
DIGIT2 = "digit2"  # 10 logits: the second image's digit
DIGIT = "digit"  # 10 logits of a single digit: the first stage of staged (separate) training
PAIR_OUTPUTS = (DIGIT1, DIGIT2, COMPARISON)  # table order
DIGIT_OUTPUTS = (DIGIT1, DIGIT2)
CLASSES = {COMPARISON: 2, DIGIT1: 10, DIGIT2: 10, DIGIT: 10}  # how many logits each output has

REPORT_VARIANTS = (  # `--variants all`: the six the report compares, in its table's order
    "main",
    "no_sharing",
    "noise_removal",
    "separate",
    "separate_noise_removal",
    "fc_baseline",
)

TRAIN, TEST, VALIDATION = "train", "test", "val"

# The exported signatures (kerascmp.serving.export writes them, kerascmp.predict checks and calls them):
# each takes one batch of pairs, `SIGNATURE_INPUT`, of this shape and dtype.
SERVING, FROM_MNIST = "serving_default", "from_mnist"
SIGNATURE_INPUT = "pairs"
SIGNATURE_INPUTS = {SERVING: ((None, 2, 14, 14), "float32"), FROM_MNIST: ((None, 2, 28, 28), "uint8")}
# The exported signatures' outputs (kerascmp.serving.export, kerascmp.predict).
P_FIRST_LEQ_SECOND = "p_first_leq_second"
FIRST_LEQ_SECOND = "first_leq_second"
# A study round's wrong test comparisons in rounds.jsonl (kerascmp.engine.scoring.comparison_failures)
ROUNDS_FILE = "rounds.jsonl"  # a study's rounds, one JSON line each
CLAIMS_FILE = "claims.json"  # {"longer": DIR}: the study with more epochs that a study's claims read
TEST_COMPARISON_FAILURES = "test_comparison_failures"
EXPORT_METADATA_FILE = "kerascmp.json"  # in each export: its variant, numbers and manifest
EXPORT_MANIFEST_KEY = "files"  # kerascmp.json's list of every file the export wrote, so it replaces no other


def error_key(split: str, output: str) -> str:
    """An error rate's key in every errors dict, rounds.jsonl and table.csv: "test_comparison"."""
    return f"{split}_{output}"


def curve_key(output: str, monitored: bool = False) -> str:
    """A per-epoch error curve's key: "comparison_error" on the training pairs, "val_comparison_error"
    on the monitored pairs. The search reports its objective under the monitored key."""
    return f"{'val_' if monitored else ''}{output}_error"


def loss_key(output: str, monitored: bool = False) -> str:
    """A per-epoch loss curve's key (the output's own cross-entropy, before loss weights): "digit1_loss"."""
    return f"{'val_' if monitored else ''}{output}_loss"


def probabilities_key(output: str) -> str:
    """An exported digit output: "digit1_probabilities"."""
    return f"{output}_probabilities"


# How a job's training pairs are formed each epoch: the fixed pairs reshuffled (the report's protocol);
# each pair's digits swapped with probability 1/2; or the 2N digits re-paired at random. The last two
# derive every target from the digit labels, so they need pairs and both digits' labels.
PAIRINGS = ("fixed", "swap", "repair")
