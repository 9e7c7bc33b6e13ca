"""What the machine can do, for the benchmark: its matmul ceiling, the 5x5 convolution's kernels, its name."""

from __future__ import annotations

import os
import platform
import time


def matmul_ceiling(size: int = 2048, repeats: int = 10) -> dict[str, float]:
    """Best-of GFLOP/s of a square matmul, float32 and bfloat16."""
    import tensorflow as tf

    result = {}
    for dtype in (tf.float32, tf.bfloat16):
        a = tf.random.stateless_normal([size, size], seed=[1, 2], dtype=dtype)
        product = tf.function(lambda: tf.matmul(a, a))
        product()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            product().numpy()
            best = min(best, time.perf_counter() - start)
        result[dtype.name] = 2 * size**3 / best / 1e9
    return result


def conv_profile(batch: int = 200, repeats: int = 20) -> dict[str, dict[str, float]]:
    """Milliseconds per training step spent in the 5x5 convolution's three kernels, per precision."""
    import tensorflow as tf

    profile = {}
    for dtype in (tf.float32, tf.bfloat16):
        x = tf.random.stateless_normal([batch, 12, 12, 32], seed=[1, 2], dtype=dtype)
        w = tf.random.stateless_normal([5, 5, 32, 64], seed=[3, 4], dtype=dtype)
        g = tf.random.stateless_normal([batch, 8, 8, 64], seed=[5, 6], dtype=dtype)
        kernels = {
            "forward": lambda: tf.nn.conv2d(x, w, 1, "VALID"),
            "backprop_input": lambda: tf.raw_ops.Conv2DBackpropInput(
                input_sizes=[batch, 12, 12, 32],
                filter=w,
                out_backprop=g,
                strides=[1, 1, 1, 1],
                padding="VALID",
            ),
            "backprop_filter": lambda: tf.raw_ops.Conv2DBackpropFilter(
                input=x, filter_sizes=[5, 5, 32, 64], out_backprop=g, strides=[1, 1, 1, 1], padding="VALID"
            ),
        }
        timings = {}
        for name, kernel in kernels.items():
            fn = tf.function(kernel)
            fn()
            start = time.perf_counter()
            for _ in range(repeats):
                fn().numpy()
            timings[name] = 1e3 * (time.perf_counter() - start) / repeats
        profile[dtype.name] = timings
    return profile


def machine_name() -> str:
    try:
        model = next(
            line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.machine()
    return f"{model}, {os.cpu_count()} cores"
