#!/usr/bin/env python
"""Write a small class-folder image data set (PNG and JPEG files) from the course's shapes.

The folder has the layout of real data sets such as cats vs dogs,
``<out>/<class_name>/<image files>``, so that the folder pipeline
(``course_utils.data.load_image_folder``) can be taught and tested offline.
The logic lives in ``course_utils.data.write_image_folder``; this script is a
command-line front end for it.

Example::

    python data_scripts/make_image_folder.py data/shapes_folder --per-class 50 --size 64
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

try:
    import course_utils  # noqa: F401
except ImportError:  # running from a clone without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        description=(
            "Write a class-folder data set of PNG and JPEG images of the course's ten shapes "
            "(<out>/<class_name>/<files>). Existing files are never overwritten."
        )
    )
    parser.add_argument("out", help="folder to create (must not exist, or be empty)")
    parser.add_argument("--per-class", type=int, default=20, help="images per class (default: 20)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default: 64)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--max-rotation",
        type=float,
        default=180.0,
        help="poses within +/- this many degrees of upright (default: 180, any pose)",
    )
    parser.add_argument(
        "--formats",
        default="png,jpg",
        help="comma-separated file formats used in turn: png, jpg (default: png,jpg)",
    )
    parser.add_argument(
        "--with-problem-files",
        action="store_true",
        help=(
            "also add an empty file, a text file, a truncated JPEG, a PNG named .jpg (all "
            "skipped by the loader) and grayscale, RGBA and 16-bit PNGs (loaded as RGB)"
        ),
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the script; returns the exit status."""
    args = build_parser().parse_args(argv)
    from course_utils.data import scan_image_folder, write_image_folder

    try:
        root = write_image_folder(
            args.out,
            n_per_class=args.per_class,
            image_size=args.size,
            seed=args.seed,
            max_rotation=args.max_rotation,
            formats=[f.strip() for f in args.formats.split(",") if f.strip()],
            include_problem_files=args.with_problem_files,
            progress=not args.quiet,
        )
    except (OSError, ValueError, TypeError) as error:  # FileExistsError is an OSError
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(scan_image_folder(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
