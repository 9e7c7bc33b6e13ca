"""kerascmp: Keras 3 reproduction of the 2019 "digit comparison" architecture study."""
import os

# TensorFlow's C++ start-up banners drown the tools' own output; users can still override this.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
