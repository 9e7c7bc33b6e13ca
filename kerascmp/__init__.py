"""kerascmp: Keras 3 reproduction of the 2019 "digit comparison" architecture study."""
import os

# TensorFlow's C++ start-up banners drown the tools' own output; users can still override this.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The study's ops are small: two independent branches (digit A and B, or packed runs) side by side,
# each on half the cores, beat every op on all cores (benchmarks/README.md). TensorFlow takes this only
# before it starts its runtime, so here, at import; TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS win.
import tensorflow as _tf  # noqa: E402

if "TF_NUM_INTRAOP_THREADS" not in os.environ and "TF_NUM_INTEROP_THREADS" not in os.environ:
    _tf.config.threading.set_inter_op_parallelism_threads(2)
    _tf.config.threading.set_intra_op_parallelism_threads(max(1, (os.cpu_count() or 2) // 2))
