"""The ops tests' shared fixture: a PREFECT_HOME of each test module's own."""

import subprocess
import sys

import pytest

from tests.ops.commands import ROOT, home_env


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """An empty PREFECT_HOME of the module's own, its local server stopped at the end."""
    env = home_env(tmp_path_factory.mktemp("prefect-home"), PYTHONUNBUFFERED="1")
    yield env
    subprocess.run([sys.executable, "deployments/stack.py", "down"], cwd=ROOT, env=env, capture_output=True)
