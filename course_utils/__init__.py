"""Helpers for the course on image classification with CNNs and data augmentation.

Importing :mod:`course_utils` has no side effects: nothing is seeded, no
matplotlib settings change and nothing is downloaded. A notebook that wants
the course-wide style calls :func:`course_utils.setup` explicitly.
"""

from course_utils._quiet import quiet_startup
from course_utils.environment import REPO_URL, check_environment, in_colab, setup

__version__ = "0.1.0"

__all__ = ["REPO_URL", "__version__", "check_environment", "in_colab", "quiet_startup", "setup"]
