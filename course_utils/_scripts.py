"""The console commands that fetch or build data sets (``[project.scripts]`` in pyproject.toml).

``course-download-cats-vs-dogs`` and ``course-make-image-folder`` are
installed with the package; ``python data_scripts/<name>.py`` runs the same
functions. Each is a command-line front end for a function of
:mod:`course_utils.data`: it takes ``argv``, the command-line arguments
(``sys.argv[1:]`` by default; ``--help`` lists them), and returns the exit
status, 0 on success (an error's message goes to stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

#: Command name -> entry point, as declared in pyproject.toml.
COMMANDS = {
    "course-download-cats-vs-dogs": "course_utils._scripts:download_cats_vs_dogs",
    "course-make-image-folder": "course_utils._scripts:make_image_folder",
}


def _parser(description: str, quiet: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quiet", action="store_true", help=quiet)
    return parser


def download_cats_vs_dogs(argv: Sequence[str] | None = None) -> int:
    """Download the cats vs dogs photos, verify and extract them, and list corrupt JPEGs.

    About 787 MB from Microsoft: 25,000 JPEGs in ``PetImages/Cat`` and
    ``PetImages/Dog``. The logic is :func:`course_utils.data.download_cats_vs_dogs`
    and :func:`course_utils.data.scan_image_folder`. Exit status 1: the
    download failed.

    Examples
    --------
    >>> download_cats_vs_dogs(["--url", "file:///no/such/archive.zip", "--dest",
    ...                        "/tmp/nowhere-cvd", "--quiet"])
    1
    """
    from course_utils._download import ChecksumMismatchError, DownloadError, UnsafeArchiveError
    from course_utils.data import (
        CATS_VS_DOGS_SHA256,
        CATS_VS_DOGS_URL,
        NetworkUnavailableError,
        default_data_dir,
        scan_image_folder,
    )
    from course_utils.data import download_cats_vs_dogs as download

    parser = _parser(
        "Download the cats vs dogs photos (about 787 MB), check their SHA-256, extract them "
        "safely and list corrupt images. Safe to run again.",
        "no progress bars",
    )
    parser.add_argument(
        "--dest", help=f"folder to extract into (default: {default_data_dir() / 'cats_vs_dogs'})"
    )
    parser.add_argument("--url", default=CATS_VS_DOGS_URL, help="archive URL (a mirror or file://)")
    parser.add_argument("--sha256", default=CATS_VS_DOGS_SHA256, help="expected SHA-256")
    parser.add_argument("--keep-archive", action="store_true", help="keep the zip file")
    parser.add_argument("--skip-check", action="store_true", help="do not check the images")
    parser.add_argument("--timeout", type=float, default=60.0, help="network timeout in seconds")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        root = download(
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
        print(scan_image_folder(root, progress=not args.quiet))
    return 0


def make_image_folder(argv: Sequence[str] | None = None) -> int:
    """Write a small class-folder data set (PNG and JPEG files) of the course's shapes.

    The layout is that of real data sets, ``<out>/<class_name>/<image files>``;
    the logic is :func:`course_utils.data.write_image_folder`. Exit status 2:
    the arguments or the target were refused.

    Examples
    --------
    >>> import tempfile
    >>> make_image_folder([tempfile.mkdtemp() + "/f", "--per-class", "1", "--size", "8",
    ...                    "--quiet"])  # doctest: +ELLIPSIS
    /tmp/.../f: 10 images in 10 classes (...); 0 files skipped.
    0
    """
    from course_utils.data import scan_image_folder, write_image_folder

    parser = _parser(
        "Write a class-folder data set of PNG and JPEG images of the course's ten shapes "
        "(<out>/<class_name>/<files>). Existing files are never overwritten.",
        "no progress bar",
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
        help="also add broken files (skipped by the loader) and grayscale, RGBA and 16-bit PNGs",
    )
    args = parser.parse_args(argv)
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
