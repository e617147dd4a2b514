import pytest


@pytest.fixture(scope="module")
def ray_session():
    """One small Ray for a module of tests that train; shut down after it, so that
    no Ray of the test process is running while notebooks and nbgrader start their own."""
    import ray

    from arena_lib import start_ray

    start_ray()
    yield ray
    ray.shutdown()
