"""The training engine: a run's spec (`specs`), the runtime (`runtime`), model building (`build`), the one
compile (`compile`), packed fitting (`packing`, `fitting`), scoring (`scoring`), and `runs`, which trains
a study's rounds. TensorFlow lives here; `machine` and `tensorboard_logs` serve the benchmark and logs.
"""
