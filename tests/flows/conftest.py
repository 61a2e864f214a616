import pytest
from prefect.testing.utilities import prefect_test_harness

from tasks.gpu import ensure_gpu_limit


@pytest.fixture(autouse=True, scope="session")
def prefect_api():
    """A real Prefect API (server code on a temporary SQLite database) for every flow test."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def gpu_limit():
    """The `gpu` limit, as an `ecgflow` command creates it before its flow (a deployment finds the operator's)."""
    return ensure_gpu_limit()
