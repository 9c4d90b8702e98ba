"""The simulation engine: the state of a batch of runs, its random draws, and the schedule that advances it.

No file I/O and no Mesa here: the engine takes a loaded scenario and each run's parameters and seed, and
advances every run of the batch one step at a time with array operations (``schedule.step``).
"""
