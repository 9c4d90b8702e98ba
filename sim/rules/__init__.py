"""The model's rules, one module each, as functions over a batch of runs (``sim.core.state.BatchState``).

Each rule reads the state, the runs' parameters and this step's random draws, and replaces the arrays it
owns. The order in which they run is ``sim.engine.schedule.SCHEDULE``.
"""
