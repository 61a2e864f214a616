import shutil
import tempfile

import pytest
from prefect.testing import utilities
from prefect.testing.utilities import prefect_test_harness

from tasks.gpu import ensure_gpu_limit


@pytest.fixture(autouse=True, scope="session")
def prefect_api(prefect_database):
    """A real Prefect API (server code on a temporary SQLite database) for every flow test.

    Its database starts as a copy of the run's migrated one (tests/conftest.py `prefect_database`): the harness puts
    `prefect-test.db` in the folder its `mkdtemp` makes, and each xdist worker would otherwise migrate its own."""

    def folder_with_the_database() -> str:
        folder = tempfile.mkdtemp()
        shutil.copyfile(prefect_database, f"{folder}/prefect-test.db")
        return folder

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utilities, "mkdtemp", folder_with_the_database)
        # It starts while the ops tests bring up their stacks on the same two cores: 120 s was once not enough.
        with prefect_test_harness(server_startup_timeout=300):
            yield


@pytest.fixture
def gpu_limit():
    """The `gpu` limit, as an `ecgflow` command creates it before its flow (a deployment finds the operator's)."""
    return ensure_gpu_limit()
