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
def graded_classes(tmp_path_factory, greeting_server):
    """The grading test class and 01's tables, graded once and at the same time (the class one
    student at a time uses one core of two). See grading_run.py."""
    from tests.grading_run import grade_the_class_and_the_tables

    return grade_the_class_and_the_tables(tmp_path_factory.mktemp("grading"),
                                          tmp_path_factory.mktemp("grading-tables"), greeting_server)


@pytest.fixture(scope="session")
def graded(graded_classes):
    """The grading test class graded as an instructor would: 01 (honest, broken, cheating and
    attacking students) from an LMS zip, 04 from submitted/."""
    return graded_classes[0]


@pytest.fixture(scope="session")
def graded_tables(graded_classes):
    """01's tables graded on two workers: honest answers in many styles, the spellings of the
    course's code, the forged reports."""
    return graded_classes[1]
