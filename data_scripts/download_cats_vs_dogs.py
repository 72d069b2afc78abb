#!/usr/bin/env python
"""Download the cats vs dogs photos, verify them, extract them safely, report corrupt JPEGs.

About 787 MB from Microsoft: 25,000 JPEGs in ``PetImages/Cat`` and
``PetImages/Dog``. The archive's SHA-256 is checked while it downloads (a
mismatch deletes it and keeps nothing), members that would land outside the
destination are refused, and running the script again finds the finished
download and only re-checks the images. Corrupt files are listed, never
deleted: the course's loaders skip them. The logic lives in
``course_utils.data.download_cats_vs_dogs`` and
``course_utils.data.scan_image_folder``; this script is a command-line front
end for them.

Example::

    python data_scripts/download_cats_vs_dogs.py              # into ~/.keras/datasets
    python data_scripts/download_cats_vs_dogs.py --dest data/cats_vs_dogs
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
    from course_utils.data import CATS_VS_DOGS_SHA256, CATS_VS_DOGS_URL, default_data_dir

    parser = argparse.ArgumentParser(
        description=(
            "Download the cats vs dogs photos (about 787 MB), check their SHA-256, extract them "
            "safely and list corrupt images. Safe to run again."
        )
    )
    parser.add_argument(
        "--dest",
        default=None,
        help=f"folder to extract into (default: {default_data_dir() / 'cats_vs_dogs'})",
    )
    parser.add_argument("--url", default=CATS_VS_DOGS_URL, help="archive URL (a mirror or file://)")
    parser.add_argument(
        "--sha256", default=CATS_VS_DOGS_SHA256, help="expected SHA-256 of the archive"
    )
    parser.add_argument(
        "--keep-archive", action="store_true", help="keep the zip file after extraction"
    )
    parser.add_argument(
        "--skip-check", action="store_true", help="do not check the images after extraction"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="network timeout in seconds")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the script; returns the exit status."""
    args = build_parser().parse_args(argv)
    from course_utils.data import (
        ChecksumMismatchError,
        DownloadError,
        NetworkUnavailableError,
        UnsafeArchiveError,
        download_cats_vs_dogs,
        scan_image_folder,
    )

    try:
        root = download_cats_vs_dogs(
            args.dest,
            url=args.url,
            sha256=args.sha256,
            keep_archive=args.keep_archive,
            progress=not args.quiet,
            timeout=args.timeout,
        )
    except (
        NetworkUnavailableError,
        DownloadError,
        ChecksumMismatchError,
        UnsafeArchiveError,
        FileExistsError,
        FileNotFoundError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Images are in {root}")
    if not args.skip_check:
        report = scan_image_folder(root, progress=not args.quiet)
        print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
