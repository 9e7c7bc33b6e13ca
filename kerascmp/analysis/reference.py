"""The reference: the 2019 report's published table (STUDY.md), which every study table is set beside."""

from __future__ import annotations

from kerascmp.names import PAIR_OUTPUTS, TEST, TRAIN, error_key


def _report_row(train: tuple, test: tuple) -> dict[str, tuple[float, float]]:
    """One row of the report's table: (mean, std) per output in PAIR_OUTPUTS order, None where it has none."""
    return {
        error_key(split, output): value
        for split, values in ((TRAIN, train), (TEST, test))
        for output, value in zip(PAIR_OUTPUTS, values)
        if value is not None
    }


# The report's table (STUDY.md), error % as (mean, std), in its row order.
REPORT_TABLE: dict[str, dict[str, tuple[float, float]]] = {
    "main": _report_row(
        train=((3.14, 1.56), (3.80, 1.60), (25.58, 9.41)), test=((7.72, 1.28), (7.60, 1.87), (30.45, 8.51))
    ),
    "fc_baseline": _report_row(train=(None, None, (44.62, 1.94)), test=(None, None, (45.32, 1.45))),
    "no_sharing": _report_row(
        train=((1.91, 0.92), (1.75, 1.08), (24.97, 6.77)), test=((10.12, 1.01), (9.78, 1.14), (29.94, 5.33))
    ),
    "noise_removal": _report_row(
        train=((2.05, 0.91), (2.25, 1.37), (40.04, 6.95)), test=((7.40, 1.24), (6.73, 0.80), (40.29, 6.73))
    ),
    "separate": _report_row(
        train=((2.22, 0.50), None, (24.24, 4.00)), test=((10.06, 1.21), None, (26.25, 5.26))
    ),
    "separate_noise_removal": _report_row(
        train=((1.62, 0.48), None, (7.95, 1.39)), test=((10.33, 1.20), None, (11.66, 2.24))
    ),
}
