"""Downloads through ``keras.utils.get_file``, plus what it lacks.

Every download goes to a private temporary folder first, so nothing of the
user's is overwritten or deleted; a SHA-256 mismatch keeps nothing; offline,
:class:`NetworkUnavailableError` names the alternatives; unsafe archive members
are refused before anything is extracted; a marker file makes a finished
download a no-op when run again.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import socket
import ssl
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

OFFLINE_ALTERNATIVE = (
    "Offline, use the course's built-in data set, load_dataset('shapes'), or a folder of "
    "your own images, load_dataset('/path/to/folder') (one sub-folder per class)."
)

_MARKER = ".course_utils_download.json"
_ARCHIVE = "download.archive"  # get_file extracts <stem>.<ext> into <stem>_extracted


class NetworkUnavailableError(ConnectionError):
    """The data could not be downloaded because the network is unreachable."""


class ChecksumMismatchError(ValueError):
    """A downloaded file's SHA-256 differs from the expected one; the file was deleted."""


class UnsafeArchiveError(ValueError):
    """An archive has members that would land outside the target folder; nothing was extracted."""


class DownloadError(OSError):
    """The server was reachable but did not deliver the file (e.g. HTTP 404)."""


# Errors that mean the connection failed while the bytes were streaming; other
# OSErrors (a full disk, no permission) are local and are raised as they are.
_NETWORK_ERRORS = (ConnectionError, TimeoutError, ssl.SSLError, http.client.HTTPException)


def _keras():
    """``import keras``, without the lines TensorFlow's C++ core prints on stderr meanwhile."""
    from course_utils._quiet import quiet_startup

    with quiet_startup():
        import keras
    return keras


@contextlib.contextmanager
def _progress(
    total: int | None, description: str, *, enabled: bool = True, stream: IO[str] | None = None
) -> Iterator[Callable[[int], None]]:
    """A ``keras.utils.Progbar`` under ``description`` on ``stream`` (stderr); yields advance."""
    if not enabled:
        yield lambda amount=1: None
        return
    keras = _keras()
    out = stream if stream is not None else sys.stderr
    out.write(f"{description} [{total if total else '?'} steps]\n")
    count = 0
    with contextlib.redirect_stdout(out):
        bar = keras.utils.Progbar(total or None)

        def advance(amount: int = 1) -> None:
            nonlocal count
            count += amount
            bar.update(count)

        yield advance
        if total is None or count < total:
            bar.update(count, finalize=True)


def sha256_of(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file, as 64 lowercase hex digits.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_of(p)[:12]
    'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, folder: Path, sha256: str | None, what: str, **kwargs) -> Path:
    """``keras.utils.get_file`` of ``url`` into the private ``folder``, with the course's errors."""
    try:
        return _get_file(url, folder, _ARCHIVE, file_hash=sha256, **kwargs)
    except ValueError:  # get_file's hash check; it leaves the file, which the caller deletes
        if sha256 is None or not (folder / _ARCHIVE).is_file():
            raise
        raise ChecksumMismatchError(
            f"The file downloaded from {url} has SHA-256 {sha256_of(folder / _ARCHIVE)}, but "
            f"{what} should have {sha256}. The file may be damaged or tampered with; it was "
            "deleted and nothing was kept."
        ) from None
    except Exception as error:
        # get_file wraps URL errors in a plain Exception; local problems (a full disk) stay
        cause = error.__context__ if type(error) is Exception else error
        if isinstance(cause, urllib.error.HTTPError):
            message = f"the server answered {cause.code} {cause.reason}."
            raise DownloadError(f"Could not download {what} from {url}: {message}") from error
        if isinstance(cause, (urllib.error.ContentTooShortError, *_NETWORK_ERRORS)):
            raise NetworkUnavailableError(
                f"The download of {what} from {url} broke off ({cause}); the partial file was "
                "deleted. Run the same command again to retry. " + OFFLINE_ALTERNATIVE
            ) from error
        if isinstance(cause, urllib.error.URLError) and urllib.parse.urlsplit(url).scheme == "file":
            raise FileNotFoundError(f"Could not read {what} from {url}: {cause.reason}") from error
        if isinstance(cause, urllib.error.URLError):
            raise NetworkUnavailableError(
                f"Could not download {what} from {url}: the network is unreachable "
                f"({cause.reason}); no network? " + OFFLINE_ALTERNATIVE
            ) from error
        raise


def _get_file(url: str, folder: Path, name: str, **kwargs) -> Path:
    """``keras.utils.get_file`` into ``folder``; what it prints goes to ``kwargs["out"]``."""
    keras = _keras()
    out, timeout = kwargs.pop("out"), kwargs.pop("timeout")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # urlretrieve, which get_file calls, takes no timeout
    try:
        with contextlib.redirect_stdout(out):
            return Path(keras.utils.get_file(name, url, cache_subdir=str(folder), **kwargs))
    finally:
        socket.setdefaulttimeout(previous)


# --- Archives ---


def _unsafe_name(name: str, root: Path) -> str | None:
    """Why a member name is unsafe, or None when it stays inside ``root``."""
    if not name:
        return "empty name"
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized):
        return "absolute path"
    if ".." in normalized.split("/"):
        return "'..' component"
    target = (root / normalized).resolve()
    if target != root and root not in target.parents:
        return "outside the target folder"
    return None


def check_archive(archive: str | os.PathLike, root: str | os.PathLike) -> list[str]:
    """The member names of a zip or tar archive for ``root``, if every member is safe.

    Raises :class:`UnsafeArchiveError`, naming them, for members that would land
    outside ``root`` or are links or device files; ``ValueError`` for a file that
    is no zip or tar archive.

    >>> import pathlib, tempfile, zipfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(folder / "a.zip", "w") as zf:
    ...     zf.writestr("cat/1.jpg", b"")
    ...     zf.writestr("../up.txt", b"")
    >>> check_archive(folder / "a.zip", folder / "out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    course_utils._download.UnsafeArchiveError: Refusing ... '../up.txt' ('..' component)....
    """
    root = Path(root).resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            kinds = [
                (i.filename, (i.external_attr >> 16) & 0o170000 == 0o120000 and "symbolic link")
                for i in zf.infolist()
            ]
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            kinds = [
                (m.name, None if m.isfile() or m.isdir() else "link" if m.issym() or m.islnk()
                 else "device or special file")
                for m in tf.getmembers()
            ]  # fmt: skip
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")
    problems = [
        f"{name!r} ({why})" for name, kind in kinds if (why := _unsafe_name(name, root) or kind)
    ]
    if problems:
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        shown = ", ".join(problems[:5]) + more
        raise UnsafeArchiveError(
            f"Refusing to extract {archive}: {len(problems)} member(s) would be written outside "
            f"{root} or are not plain files: {shown}. Nothing was extracted."
        )
    return [name for name, _ in kinds]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def download_and_extract(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None,
    *,
    archive_name: str | None = None,
    what: str = "the data",
    keep_archive: bool = False,
    progress: bool = True,
    timeout: float = 60.0,
    stream: IO[str] | None = None,
) -> Path:
    """Download an archive with ``keras.utils.get_file``, verify it, extract it into ``dest``.

    ``url`` (``https://``, ``http://`` or ``file://``) points to a zip or tar
    archive whose SHA-256 must be ``sha256`` (64 hex digits; ``None`` skips the
    check). A file ``dest/archive_name`` (default: the URL's last part) with
    that SHA-256 is used instead of downloading; ``keep_archive`` keeps the
    download there. ``what`` names the data in messages; ``progress`` shows
    Keras' bar on ``stream`` (stderr); ``timeout`` is in seconds. Safe to run
    again: a finished download returns at once. After any error nothing new is
    left in ``dest`` (nor ``dest`` itself, when this call created it).

    Raises
    ------
    NetworkUnavailableError, DownloadError
        Unreachable server or broken-off connection; an HTTP error (e.g. 404).
    ChecksumMismatchError, UnsafeArchiveError
        A damaged or tampered archive, or one with unsafe members.
    FileExistsError
        ``dest`` holds an entry of the archive that this download did not
        create, or a file named like the archive with another SHA-256.

    Examples
    --------
    >>> import pathlib, tempfile, zipfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(folder / "notes.zip", "w") as zf:
    ...     zf.writestr("notes/a.txt", b"hello")
    >>> dest = download_and_extract((folder / "notes.zip").as_uri(), folder / "out", None,
    ...                             progress=False)
    >>> (dest / "notes" / "a.txt").read_bytes()
    b'hello'
    """
    if sha256 is not None:
        if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
            raise ValueError(f"sha256 must be 64 hexadecimal digits; got {sha256!r}")
        sha256 = sha256.lower()
    dest = Path(dest).expanduser()
    marker = _read_json(dest / _MARKER)
    if marker.get("complete") and marker.get("sha256") == sha256 and marker.get("url") == url:
        return dest
    archive = dest / (archive_name or Path(urllib.parse.urlsplit(url).path).name or "archive")
    source = url
    if archive.is_file():  # a copy put there beforehand (or kept): used, never changed
        if sha256 is not None and sha256_of(archive) != sha256:
            raise FileExistsError(
                f"{archive} already exists but its SHA-256 is not {sha256}; the course never "
                "overwrites files. Move that file away (or delete it if it is a broken copy) "
                "and run again."
            )
        source = archive.as_uri()
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extracting-", dir=dest))
    try:
        out = (stream if stream is not None else sys.stderr) if progress else io.StringIO()
        fetched = _fetch(source, staging, sha256, what, out=out, timeout=timeout)
        check_archive(fetched, staging / "check")
        # The archive is in get_file's cache now, so get_file only extracts it.
        extracted = _get_file(source, staging, _ARCHIVE, extract=True, out=io.StringIO(), timeout=1)
        entries = sorted(p.name for p in extracted.iterdir())
        ours = set(marker.get("entries", [])) if marker.get("sha256") == sha256 else set()
        clashes = [name for name in entries if (dest / name).exists() and name not in ours]
        if clashes:
            raise FileExistsError(
                f"{dest} already holds {', '.join(clashes)}, which this download did not "
                "create; the course never overwrites files. Remove them or choose another "
                "destination folder."
            )
        state = {"url": url, "sha256": sha256, "entries": entries, "complete": False}
        (dest / _MARKER).write_text(json.dumps(state, indent=1))
        for name in entries:
            target = dest / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)  # left over from an interrupted run of this download
            elif target.exists() or target.is_symlink():
                target.unlink()
            os.replace(extracted / name, target)
        if keep_archive and source == url and not archive.exists():
            os.replace(fetched, archive)
        state["complete"] = True
        (dest / _MARKER).write_text(json.dumps(state, indent=1))
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest
