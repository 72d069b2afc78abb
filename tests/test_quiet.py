"""quiet_startup hides what TensorFlow's C++ core prints on import, and nothing after."""

import subprocess
import sys

SCRIPT = """
import os, sys
from course_utils import quiet_startup
with quiet_startup():
    os.write(2, b"C++ start-up noise\\n")
    import tensorflow as tf
os.write(2, b"after the block\\n")
print(os.environ["TF_CPP_MIN_LOG_LEVEL"], tf.constant(2).numpy() + 1)
"""


def test_tensorflow_imports_silently_and_stderr_comes_back():
    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "3"]
    assert done.stderr == "after the block\n"


def test_errors_inside_the_block_still_raise():
    from course_utils import quiet_startup

    try:
        with quiet_startup():
            raise KeyError("visible")
    except KeyError as error:
        assert "visible" in str(error)
    else:  # pragma: no cover
        raise AssertionError("the error was swallowed")
