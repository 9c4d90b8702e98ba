"""Calibration against the documented episodes: targets, the simulator as the fit sees it, ABC-SMC, and
the report (docs/calibration.md)."""
