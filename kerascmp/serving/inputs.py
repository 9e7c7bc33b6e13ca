"""What `kerascmp.predict` accepts: image files and .npy arrays, read and checked with messages that say
what is wrong. Arrays are read and checked in chunks, so memory stays flat whatever their size."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from kerascmp.errors import UsageError

CHUNK = 1024  # pairs per chunk when scanning or predicting an array: flat memory, still fast
BLANK_RANGE = 10  # an image whose pixels all lie within this range holds no digit
MAX_IMAGE_BYTES = 20 * 2**20  # a digit image is a few KB; a larger file is refused before it is read
MAX_IMAGE_PIXELS = 4096 * 4096  # checked in the header, before decoding allocates them


# ---- images -------------------------------------------------------------------------------------------


def read_image(path: str, invert: str | bool = "auto") -> tuple[np.ndarray, list[str]]:
    """A 28x28 uint8 MNIST-like digit (light on dark) from an image file, and notes on what was done."""
    import tensorflow as tf

    notes = []
    encoded = _read_bounded(path)
    frames = _check_header(path, encoded)
    if frames > 1:
        notes.append(f"{path}: an animated GIF of {frames} frames; its first frame is read")
    try:
        image = tf.io.decode_image(encoded, expand_animations=False).numpy()
    except Exception as err:
        raise UsageError(
            f"image {path}: not a readable PNG, JPEG, BMP or GIF ({type(err).__name__})"
        ) from None
    image = image.astype(np.float32)
    if image.shape[-1] in (2, 4):
        colour, alpha = image[..., :-1], image[..., -1]
        if np.ptp(colour) < BLANK_RANGE <= np.ptp(alpha):  # flat colour, the digit drawn in transparency
            notes.append(f"{path}: the digit is only in the alpha channel; read from there")
            image = alpha[..., None]
        else:
            image = colour
    if image.shape[-1] == 3:
        image = image @ np.array([0.2989, 0.587, 0.114], np.float32)[:, None]  # ITU-R 601 luma
    image = image[..., 0]
    height, width = image.shape
    if (height, width) == (14, 14):
        image = image.repeat(2, axis=0).repeat(2, axis=1)  # 2x2 pooling gives the 14x14 back exactly
    elif (height, width) != (28, 28):
        notes.append(f"{path}: {width}x{height} resized to 28x28")
        image = tf.image.resize(image[..., None], (28, 28), antialias=True).numpy()[..., 0]
    pixels = np.clip(np.round(image), 0, 255).astype(np.uint8)
    if np.ptp(pixels) < BLANK_RANGE:
        notes.append(f"{path}: looks blank (every pixel near {int(pixels.mean())}); the verdict means little")
    elif invert is True or (invert == "auto" and _looks_dark_on_light(pixels)):
        pixels = 255 - pixels
        notes.append(f"{path}: dark digit on light background, inverted (--no-invert to keep it)")
    return pixels, notes


def _read_bounded(path: str) -> bytes:
    """The file's bytes, refused past MAX_IMAGE_BYTES without reading further (/dev/zero never ends)."""
    try:
        with open(path, "rb") as f:
            encoded = f.read(MAX_IMAGE_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"image {path}: not found") from None
    except IsADirectoryError:
        raise UsageError(f"image {path}: is a directory, not an image file") from None
    except OSError as err:
        raise UsageError(f"image {path}: cannot be read ({err.strerror})") from None
    if len(encoded) > MAX_IMAGE_BYTES:
        raise UsageError(
            f"image {path}: larger than {MAX_IMAGE_BYTES // 2**20} MB; a digit image is a few KB"
        )
    return encoded


def _check_header(path: str, encoded: bytes) -> int:
    """Refuse an image of more than MAX_IMAGE_PIXELS from its header, before decoding allocates them; the
    number of frames (an animated GIF has several)."""
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # PIL's own bomb warning: the check below says it in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            header = Image.open(io.BytesIO(encoded))  # reads the header only
        with header:
            width, height = header.size
            frames = getattr(header, "n_frames", 1)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return 1  # TensorFlow's decoder says what is wrong
    if width * height > MAX_IMAGE_PIXELS:
        raise UsageError(
            f"image {path}: {width}x{height} pixels, more than {MAX_IMAGE_PIXELS:,}; "
            "crop or shrink it to the digit (28x28 is MNIST's size)"
        )
    return frames


def _looks_dark_on_light(pixels: np.ndarray) -> bool:
    """MNIST digits are light strokes on a black border; a light border means the opposite."""
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return float(border.mean()) > 127


# ---- arrays -------------------------------------------------------------------------------------------


class NpyFile:
    """A .npy array on disk, read a slice of the first axis at a time: memory stays flat whatever its size
    (a memory map would keep every page it touched resident). Pickled object arrays are refused."""

    def __init__(self, path: str, what: str):
        self.path = path
        try:
            with open(path, "rb") as f:
                if f.read(2) == b"PK":  # a zip: np.savez's archive of arrays
                    raise UsageError(
                        f"{what} {path} is an .npz archive; save the one array with np.save(FILE.npy, a)"
                    )
                f.seek(0)
                version = np.lib.format.read_magic(f)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(
                    version, np.lib.format.read_array_header_2_0
                )
                self.shape, fortran_order, self.dtype = read_header(f)
                self.offset = f.tell()
        except FileNotFoundError:
            raise UsageError(f"{what} {path}: not found") from None
        except (OSError, ValueError) as err:
            raise UsageError(f"{what} {path}: not a readable .npy file ({type(err).__name__})") from None
        if self.dtype.hasobject:
            raise UsageError(f"{what} {path} holds Python objects (a pickle); kerascmp reads only numbers")
        if fortran_order and len(self.shape) > 1:
            raise UsageError(f"{what} {path} is in Fortran order; save np.ascontiguousarray(a)")
        self.ndim = len(self.shape)
        self.row_items = int(np.prod(self.shape[1:], dtype=np.int64)) if self.ndim else 1

    def __len__(self) -> int:
        return self.shape[0] if self.ndim else 0

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows start..stop of the array, read from disk now."""
        stop = len(self) if stop is None else min(stop, len(self))
        with open(self.path, "rb") as f:
            f.seek(self.offset + start * self.row_items * self.dtype.itemsize)
            values = np.fromfile(f, dtype=self.dtype, count=(stop - start) * self.row_items)
        if values.size != (stop - start) * self.row_items:
            raise UsageError(f"{self.path} is cut short: it holds fewer values than its header says")
        return values.reshape((stop - start, *self.shape[1:]))


def load_array(path: str, what: str) -> NpyFile:
    return NpyFile(path, what)


def chunks(array: NpyFile) -> Iterator[tuple[int, np.ndarray]]:
    """(start, rows start..start + CHUNK) over the first axis, read from disk one chunk at a time."""
    for start in range(0, len(array), CHUNK):
        yield start, array.read(start, start + CHUNK)


def check_pairs(pairs: NpyFile) -> NpyFile:
    """Refuse anything but a non-empty [N, 2, 14|28, 14|28] array of finite raw pixels 0-255."""
    if pairs.dtype.kind not in "uif":
        raise UsageError(f"pairs must be numeric, got dtype {pairs.dtype}")
    if pairs.ndim != 4 or pairs.shape[1] != 2 or pairs.shape[2:] not in ((14, 14), (28, 28)):
        raise UsageError(f"pairs must have shape [N, 2, 14, 14] or [N, 2, 28, 28], got {list(pairs.shape)}")
    if len(pairs) == 0:
        raise UsageError("pairs is an empty batch (N = 0)")
    low, high = np.inf, -np.inf
    for start, chunk in chunks(pairs):
        if chunk.dtype.kind == "f" and not np.all(np.isfinite(chunk)):
            raise UsageError(f"pairs contain NaN or inf (in pairs {start}-{start + len(chunk) - 1})")
        low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
    if low == high == 0:
        raise UsageError("every pixel value is 0: the images are blank; pass raw pixels 0-255")
    if (
        -BLANK_RANGE <= low and high <= BLANK_RANGE
    ):  # raw strokes reach ~255; 0-1 or standardised data stays small
        raise UsageError(
            f"pixel values run from {low:g} to {high:g}: looks normalised; pass raw pixels 0-255"
        )
    if low < 0 or high > 255:
        raise UsageError(f"pixel values run from {low:g} to {high:g}, outside 0-255; pass raw pixels 0-255")
    return pairs


def check_labels(labels: NpyFile, n: int) -> np.ndarray:
    if labels.dtype.kind not in "ui" or labels.shape != (n, 2):
        raise UsageError(
            f"labels must be integer digit classes of shape [{n}, 2] to match the pairs, "
            f"got {labels.dtype} {list(labels.shape)}"
        )
    labels = labels.read()
    if labels.min() < 0 or labels.max() > 9:
        raise UsageError(
            f"labels must be digit classes 0-9, got values from {labels.min()} to {labels.max()}"
        )
    return labels
