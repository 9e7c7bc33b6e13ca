"""Beyond II's eighth round of validation probes (research/beyond2/results/, "Eighth round"), part 1:
train a probe variant's nets on the held-out rounds and save every net's digit logits on 15 test-time views
of the held-out digits, for scoring mixes of nets and views offline (beyond2_eighth_score.py).

    PYTHONPATH=. python research/beyond2/beyond2_eighth_views.py \
        <variant> <first round> <last round + 1> <logits dir>

It loads the sixth, seventh and ninth rounds' plugins, whose `h_best_tta`, `h_upsample_tta` and
`h_upsample_first` it trains round by round on `tuning.search --held-out-pairs 5000`'s data and seeds (but
TensorFlow's default threads: see the probes README), and writes one .npz per round to the logits dir.
"""

import argparse
import time

import numpy as np
from scipy import ndimage

from kerascmp import seeds
from kerascmp.data import training_and_held_out_pairs
from kerascmp.engine.fitting import Trainer
from kerascmp.engine.runs import train_runs
from kerascmp.engine.specs import RunSpec
from kerascmp.models import digit_nets
from kerascmp.names import COMPARISON, VALIDATION, error_key
from kerascmp.variants import get_variant
from kerascmp.variants.registry import load_plugin


def shift(x, dr, dc):
    out = np.zeros_like(x)
    h, w = x.shape[1:]
    out[:, max(dr, 0) : h + min(dr, 0), max(dc, 0) : w + min(dc, 0)] = x[
        :, max(-dr, 0) : h + min(-dr, 0), max(-dc, 0) : w + min(-dc, 0)
    ]
    return out


def rotate(x, deg):
    return ndimage.rotate(x, deg, axes=(1, 2), reshape=False, order=1, mode="constant", cval=0.0)


def zoom(x, s):
    c = 6.5
    return ndimage.affine_transform(
        x, np.diag([1, 1 / s, 1 / s]), offset=(0, c - c / s, c - c / s), order=1, mode="constant", cval=0.0
    )


VIEWS = {
    "id": lambda x: x,
    "s+r": lambda x: shift(x, 1, 0),
    "s-r": lambda x: shift(x, -1, 0),
    "s+c": lambda x: shift(x, 0, 1),
    "s-c": lambda x: shift(x, 0, -1),
    "d++": lambda x: shift(x, 1, 1),
    "d+-": lambda x: shift(x, 1, -1),
    "d-+": lambda x: shift(x, -1, 1),
    "d--": lambda x: shift(x, -1, -1),
    "r+5": lambda x: rotate(x, 5),
    "r-5": lambda x: rotate(x, -5),
    "r+10": lambda x: rotate(x, 10),
    "r-10": lambda x: rotate(x, -10),
    "z0.9": lambda x: zoom(x, 0.9),
    "z1.1": lambda x: zoom(x, 1.1),
}


def main(name: str, first: int, last: int, logits_dir: str) -> None:
    load_plugin("research/beyond2/beyond2_sixth_probes.py")
    load_plugin("research/beyond2/beyond2_seventh_probes.py")
    load_plugin("research/beyond2/beyond2_ninth_probes.py")  # the ninth round's h_upsample_first
    variant = get_variant(name)
    hp = variant.hyperparameters(learning_rate=0.01, c_aux=0.4)
    trainer = Trainer()
    for r in range(first, last):
        t = time.time()
        seed = seeds.round_seed(0, r)
        fit_pairs, validation = training_and_held_out_pairs(1000, 5000, seed)
        (result,) = train_runs(
            [RunSpec(name, seed, hp, fit_pairs, {VALIDATION: validation})], trainer=trainer, verbose=False
        )
        model = result.model
        ensembled = variant.members > 1 or variant.test_time_shifts
        members = [model.get_layer(f"member_{k}") for k in range(variant.members)] if ensembled else [model]
        images = validation.pairs.reshape(-1, 14, 14).astype("float32")
        views = [np.asarray(f(images), "float32") for f in VIEWS.values()]
        logits = np.stack(
            [
                np.stack(
                    [
                        np.asarray(digit_nets(m)[0].predict(v, batch_size=2500, verbose=0), "float32")
                        for v in views
                    ]
                )
                for m in members
            ]
        )
        err = result.errors[error_key(VALIDATION, COMPARISON)]
        np.savez_compressed(
            f"{logits_dir}/{name}_r{r}.npz",
            logits=logits,
            classes=validation.classes,
            views=np.array(list(VIEWS)),
            recorded=err,
        )
        print(
            f"{name} round {r}: recorded {err:.2f} %, train {result.wall_s:.0f} s, "
            f"total {time.time() - t:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("variant", help="h_best_tta, h_upsample_tta or h_upsample_first")
    parser.add_argument("first", type=int, help="the first held-out round")
    parser.add_argument("last", type=int, help="the last round + 1")
    parser.add_argument("logits_dir", help="where each round's .npz of logits goes")
    args = parser.parse_args()
    main(args.variant, args.first, args.last, args.logits_dir)
