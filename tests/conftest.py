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


@pytest.fixture(scope="session")
def greeting_server():
    """A server on 127.0.0.1 that greets whoever connects (a graded kernel must not reach it)."""
    from tests.grading_run import greeting_server

    with greeting_server() as port:
        yield port


@pytest.fixture(scope="session")
def graded(tmp_path_factory, greeting_server):
    """The grading test class graded once, as an instructor would: 01 (honest, broken, cheating and
    attacking students) from an LMS zip, 04 from submitted/. See grading_run.py."""
    from tests.grading_run import grade_the_class

    return grade_the_class(tmp_path_factory.mktemp("grading"), greeting_server)


@pytest.fixture(scope="session")
def graded_tables(tmp_path_factory):
    """01's tables graded once, on two workers: honest answers in many styles, the spellings of
    the course's code, the forged reports. See grading_run.py."""
    from tests.grading_run import grade_the_tables

    return grade_the_tables(tmp_path_factory.mktemp("grading-tables"))
