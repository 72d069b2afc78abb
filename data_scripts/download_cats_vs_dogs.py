#!/usr/bin/env python
"""Download the cats vs dogs photos, verify them, extract them safely, report corrupt JPEGs.

The same as the console command ``course-download-cats-vs-dogs`` that the
package installs; the code is ``course_utils._scripts.download_cats_vs_dogs``.

Example::

    python data_scripts/download_cats_vs_dogs.py              # into ~/.keras/datasets
    python data_scripts/download_cats_vs_dogs.py --dest data/cats_vs_dogs
"""

import sys

from course_utils._scripts import download_cats_vs_dogs

if __name__ == "__main__":
    sys.exit(download_cats_vs_dogs())
