"""The plugin of Beyond II's ninth round of validation probes (tuning/results/beyond2_probes/, "Ninth
round"), scored on held-out MNIST-train pairs (`tuning.search --held-out-pairs`): `beyond_tta`'s recipe (the
deeper digit net, label smoothing 0.1, compared at temperature 0.5, each digit also read shifted by a pixel
each way) with one change:

- `h_sam05`, `h_sam10`: trained by sharpness-aware minimisation (`Variant.sam_radius`), radius 0.05 (the SAM
  paper's usual value) or 0.1;
- `h_mixup02`, `h_mixup10`: mixup (`Variant.mixup`), alpha 0.2 or 1.

For example:

    python -m tuning.search --plugin examples/beyond2_ninth_probes.py --variant h_sam05 --lr 0.01 \\
        --c-aux 0.4 --rounds 10 --held-out-pairs 5000 --project-dir tuning/runs/h_sam05
"""

from dataclasses import replace

from kerascmp import get_variant, register_variant

for name, change in (
    ("h_sam05", {"sam_radius": 0.05}),
    ("h_sam10", {"sam_radius": 0.1}),
    ("h_mixup02", {"mixup": 0.2}),
    ("h_mixup10", {"mixup": 1.0}),
):
    register_variant(replace(get_variant("beyond_tta"), name=name, label=name, seed_id=None, **change))
