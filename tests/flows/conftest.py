import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(autouse=True, scope="session")
def prefect_api():
    """A real Prefect API (server code on a temporary SQLite database) for every flow test."""
    with prefect_test_harness(server_startup_timeout=120):
        yield
