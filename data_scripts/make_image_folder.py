#!/usr/bin/env python
"""Write a small class-folder image data set (PNG and JPEG files) from the course's shapes.

The same as the console command ``course-make-image-folder`` that the package
installs; the code is ``course_utils._scripts.make_image_folder``.

Example::

    python data_scripts/make_image_folder.py data/shapes_folder --per-class 50 --size 64
"""

import sys

from course_utils._scripts import make_image_folder

if __name__ == "__main__":
    sys.exit(make_image_folder())
