"""The model description stays true to the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_odd_parameter_table_matches_the_parameter_specs():
    done = subprocess.run([sys.executable, str(REPO / "docs" / "parameter_table.py"), "--check"],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
