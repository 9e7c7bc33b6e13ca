"""Make sample inputs for `kerascmp.predict` from the bundled MNIST: two digit images and a batch of pairs.

    python examples/sample_pair.py            # writes a.png, b.png, pairs.npy and classes.npy here
    python -m kerascmp.predict --model saved_models/noise_removal a.png b.png
    python -m kerascmp.predict --model saved_models/noise_removal --pairs pairs.npy --labels classes.npy

The pairs are MNIST-test pairs as the study draws them (`kerascmp.data.generate_pair_sets`): 14x14 raw
pixels 0-255, and the two digits' classes. a.png and b.png are the first pair's two digits.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from kerascmp.data import generate_pair_sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100, help="how many pairs pairs.npy holds (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="which pairs (default 0)")
    parser.add_argument("--output-dir", default=".", help="where the four files go (default here)")
    args = parser.parse_args()

    _, test = generate_pair_sets(args.pairs, seed=args.seed)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "pairs.npy", test.pairs)  # [N, 2, 14, 14] float32, raw pixels 0-255
    np.save(out / "classes.npy", test.classes)  # [N, 2] the digits' classes
    for side, image in zip("ab", test.pairs[0]):
        Image.fromarray(np.round(image).astype(np.uint8)).save(out / f"{side}.png")  # 8-bit grayscale
    first, second = test.classes[0]  # the digits of a.png and b.png
    print(
        f"wrote a.png ({first}), b.png ({second}), pairs.npy and classes.npy ({args.pairs} pairs) in {out}/"
    )


if __name__ == "__main__":
    main()
