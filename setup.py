"""Packaging beyond what pyproject.toml can declare: the shipped data as package data.

The repository keeps its input data in the top-level ``scenarios/`` and ``calibration/`` folders. A wheel
carries them under ``sim/_data/`` (mapped here, not copied in the repository), where
``sim.input.builtin`` looks first; a checkout or an editable install reads the top-level folders.
"""

from setuptools import find_packages, setup

DATA = {"sim._data.scenarios": "scenarios", "sim._data.calibration": "calibration"}
"""Package name in the wheel -> the repository folder it is made from."""

setup(
    packages=find_packages(include=["sim", "sim.*"]) + list(DATA),
    package_dir=DATA,
    package_data={**{name: ["**/*.yaml", "**/*.csv"] for name in DATA},
                  # the maps' boundary extract (source and licence in its README) and the page map.html is made from
                  "sim.output": ["data/*.geojson", "data/*.html", "data/*.md"]},
)
