"""Experiments on the model: ensembles, executors (process pool, Dask), strategy comparisons, sensitivity
analyses, and the calibrated posterior they can draw parameters from."""
