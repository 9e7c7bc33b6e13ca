"""KerasTuner grid search over learning rate x c_aux for the kerascmp variants (`python -m tuning.search`)."""
