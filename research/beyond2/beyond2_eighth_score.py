"""Beyond II's eighth round of validation probes, part 2: score mixes of nets and views from the logits
beyond2_eighth_views.py saved, round by round (research/beyond2/results/h_views_joined/errors.csv).

    python research/beyond2/beyond2_eighth_score.py <logits dir> > errors.csv

Each mix averages its nets' softmax probabilities over its views, then compares the two digits exactly
(P(a <= b) of the mean probabilities, sharpened at temperature 0.5: kerascmp's AnalyticComparison and
Sharpening); a pair's verdict is P(a <= b) > 1/2. Digit error is that of the mean probabilities' argmax.
"""

import argparse
import csv
import glob
import sys

import numpy as np
from scipy.special import softmax

LEQ = np.triu(np.ones((10, 10)))  # LEQ[i, j] = 1 where i <= j
TEMPERATURE = 0.5


def comparison_and_digit_error(probs, classes, temperature=TEMPERATURE):
    """probs (2N, 10): the mean digit probabilities of N pairs' digits, in order; errors in %."""
    p = softmax(np.log(probs + 1e-12) / temperature, axis=-1).reshape(-1, 2, 10)
    p_leq = np.clip(np.einsum("ni,ij,nj->n", p[:, 0], LEQ, p[:, 1]), 1e-7, 1 - 1e-7)
    verdict = (np.log(p_leq) > np.log(1 - p_leq)).astype(int)
    target = (classes[:, 0] <= classes[:, 1]).astype(int)
    return 100 * np.mean(verdict != target), 100 * np.mean(probs.argmax(-1) != classes.reshape(-1))


def load(logits_dir, name):
    """Round -> (probabilities (nets, views, 2N, 10), classes (N, 2), view names)."""
    rounds = {}
    for path in sorted(glob.glob(f"{logits_dir}/{name}_r*.npz")):
        stored = np.load(path)
        rounds[int(path.split("_r")[-1].split(".")[0])] = (
            softmax(stored["logits"], axis=-1),
            stored["classes"],
            list(stored["views"]),
        )
    return rounds


def errors(sources, views, rounds):
    """sources: (loaded probe, its nets' indices) pairs, averaged together over `views`; per round."""
    result = []
    for r in rounds:
        probabilities = []
        for loaded, nets in sources:
            probs, classes, names = loaded[r]
            chosen = probs[nets][:, [names.index(v) for v in views]]
            probabilities.append(chosen.reshape(-1, *probs.shape[2:]))
        result.append(comparison_and_digit_error(np.concatenate(probabilities).mean(0), classes))
    return result


def logits_dir_argument(description: str = __doc__) -> str:
    """The one argument of the eighth and ninth rounds' scoring scripts; --help shows `description`."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=description, formatter_class=formatter)
    parser.add_argument("logits_dir", help="the folder of .npz logits beyond2_eighth_views.py wrote")
    return parser.parse_args().logits_dir


if __name__ == "__main__":
    logits_dir = logits_dir_argument()
    plain, upsampled = load(logits_dir, "h_best_tta"), load(logits_dir, "h_upsample_tta")
    rounds = sorted(set(plain) & set(upsampled))
    given_and_shifts = ["id", "s+r", "s-r", "s+c", "s-c"]
    diagonal = ["d++", "d+-", "d-+", "d--"]
    turns5, turns10, zooms = ["r+5", "r-5"], ["r+10", "r-10"], ["z0.9", "z1.1"]
    thirteen = given_and_shifts + diagonal + turns5 + turns10
    five, label13 = "5: as given, 4 shifts", "13: + diagonal shifts, turns of ±5°, ±10°"
    mixes = [
        ("4 plain nets", five, [(plain, [0, 1, 2, 3])], given_and_shifts),
        ("4 plain nets", "as given", [(plain, [0, 1, 2, 3])], ["id"]),
        ("4 plain nets", "7: + turns of ±5°", [(plain, [0, 1, 2, 3])], given_and_shifts + turns5),
        (
            "4 plain nets",
            "9: + turns of ±5°, ±10°",
            [(plain, [0, 1, 2, 3])],
            given_and_shifts + turns5 + turns10,
        ),
        ("4 plain nets", "9: + diagonal shifts", [(plain, [0, 1, 2, 3])], given_and_shifts + diagonal),
        ("4 plain nets", "7: + zooms of 0.9, 1.1", [(plain, [0, 1, 2, 3])], given_and_shifts + zooms),
        ("4 plain nets", label13, [(plain, [0, 1, 2, 3])], thirteen),
        ("4 plain nets", "15: all", [(plain, [0, 1, 2, 3])], thirteen + zooms),
        ("1 plain net", five, [(plain, [0])], given_and_shifts),
        ("1 plain net", label13, [(plain, [0])], thirteen),
        ("1 upsampled net", five, [(upsampled, [0])], given_and_shifts),
        ("1 upsampled net", label13, [(upsampled, [0])], thirteen),
        ("4 plain + 1 upsampled", five, [(plain, [0, 1, 2, 3]), (upsampled, [0])], given_and_shifts),
        ("3 plain + 1 upsampled", five, [(plain, [0, 1, 2]), (upsampled, [0])], given_and_shifts),
        ("2 plain + 1 upsampled", five, [(plain, [0, 1]), (upsampled, [0])], given_and_shifts),
        ("4 plain + 1 upsampled", label13, [(plain, [0, 1, 2, 3]), (upsampled, [0])], thirteen),
        ("3 plain + 1 upsampled", label13, [(plain, [0, 1, 2]), (upsampled, [0])], thirteen),
        ("2 plain + 1 upsampled", label13, [(plain, [0, 1]), (upsampled, [0])], thirteen),
    ]
    writer = csv.writer(sys.stdout)
    writer.writerow(["nets", "views", "round", "val_comparison_error", "val_digit_error"])
    for nets, views, sources, view_names in mixes:
        for r, (comparison, digit) in zip(rounds, errors(sources, view_names, rounds)):
            writer.writerow([nets, views, r, f"{comparison:.2f}", f"{digit:.2f}"])
