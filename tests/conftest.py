import pytest


@pytest.fixture(scope="session")
def ray_session():
    """One small Ray for the tests that train; shut down at the end."""
    import ray

    from arena_lib import start_ray

    start_ray()
    yield ray
    ray.shutdown()
