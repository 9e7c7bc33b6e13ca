"""Beyond II's ninth round of validation probes, its last part: score mixes of the eighth round's nets
(`best`'s plain and upsampled ones) with `h_upsample_first`'s (the first block upsampled, about half an
upsampled net's training) from the logits beyond2_eighth_views.py saved, as beyond2_eighth_score.py does
(research/beyond2/results/h_upsample_first/errors.csv).

    python research/beyond2/beyond2_ninth_score.py <logits dir> > errors.csv
"""

import csv
import sys


def main(logits_dir: str) -> None:
    from beyond2_eighth_score import errors, load  # beside this script

    plain, upsampled = load(logits_dir, "h_best_tta"), load(logits_dir, "h_upsample_tta")
    first = load(logits_dir, "h_upsample_first")
    rounds = sorted(set(plain) & set(upsampled) & set(first))
    five = ["id", "s+r", "s-r", "s+c", "s-c"]
    thirteen = five + ["d++", "d+-", "d-+", "d--", "r+5", "r-5", "r+10", "r-10"]
    mixes = [
        ("1 upsampled-first net", 5, [(first, [0])]),
        ("1 upsampled-first net", 13, [(first, [0])]),
        ("1 upsampled net", 13, [(upsampled, [0])]),
        ("3 plain + 1 upsampled (best)", 13, [(plain, [0, 1, 2]), (upsampled, [0])]),
        ("3 plain + 1 upsampled-first", 13, [(plain, [0, 1, 2]), (first, [0])]),
        ("4 plain + 1 upsampled-first", 13, [(plain, [0, 1, 2, 3]), (first, [0])]),
        ("2 plain + 2 upsampled-first", 13, [(plain, [0, 1]), (first, [0, 1])]),
        ("3 plain + 2 upsampled-first", 13, [(plain, [0, 1, 2]), (first, [0, 1])]),
        ("1 plain + 1 upsampled + 1 upsampled-first", 13, [(plain, [0]), (upsampled, [0]), (first, [0])]),
        ("2 plain + 1 upsampled + 1 upsampled-first", 13, [(plain, [0, 1]), (upsampled, [0]), (first, [0])]),
    ]
    writer = csv.writer(sys.stdout)
    writer.writerow(["nets", "views", "round", "val_comparison_error", "val_digit_error"])
    for nets, views, sources in mixes:
        for r, (comparison, digit) in zip(rounds, errors(sources, five if views == 5 else thirteen, rounds)):
            writer.writerow([nets, views, r, f"{comparison:.2f}", f"{digit:.2f}"])


if __name__ == "__main__":
    from beyond2_eighth_score import logits_dir_argument  # beside this script

    main(logits_dir_argument(__doc__))
