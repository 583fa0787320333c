import pytest


@pytest.fixture(autouse=True)
def _load_test_tasks():
    import tests.jobs.tasks  # noqa: F401 - registers the test jobs with the app
