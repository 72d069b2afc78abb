"""Downloading and unpacking data sets safely: progress bar, SHA-256, safe extraction.

The rules, in the order a download meets them:

* a download goes to ``<name>.part`` first and is hashed while it streams; only
  a file whose SHA-256 matches is renamed to its final name. A mismatch deletes
  the partial file, and a destination folder created for it, so nothing is kept;
* an unreachable network raises :class:`NetworkUnavailableError`, which names
  the offline alternatives;
* an archive is checked member by member before anything is written: absolute
  paths, ``..`` components, links and device files are refused
  (:class:`UnsafeArchiveError`) and nothing is extracted;
* extraction goes into a temporary folder inside the destination and is moved
  into place at the end; a marker file records a finished download, so running
  the same download again does nothing.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import ssl
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import IO

OFFLINE_ALTERNATIVE = (
    "Offline, use the course's built-in data set, load_dataset('shapes'), or a folder of "
    "your own images, load_dataset('/path/to/folder') (one sub-folder per class)."
)

_MARKER = ".course_utils_download.json"


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
_NETWORK_ERRORS = (
    ConnectionError,
    TimeoutError,
    ssl.SSLError,
    http.client.HTTPException,
    urllib.error.URLError,
)


class ProgressBar:
    """A dependency-free text progress bar for terminals and notebooks.

    Parameters
    ----------
    total : int or None
        Expected total; ``None`` when unknown (only the count is shown).
    description : str
        Text before the bar.
    unit : {"files", "bytes"}
        How to format the counts.
    stream : file-like, optional
        Where to write; ``sys.stderr`` by default.
    enabled : bool
        ``False`` makes every method a no-op.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressBar(4, "Writing", stream=out)
    >>> for _ in range(4):
    ...     bar.update()
    >>> bar.close()
    >>> "100%" in out.getvalue()
    True
    """

    def __init__(
        self,
        total: int | None,
        description: str,
        unit: str = "files",
        stream: IO[str] | None = None,
        enabled: bool = True,
    ) -> None:
        self.total = total if total and total > 0 else None
        self.description = description
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.count = 0
        self._last = 0.0
        self._closed = False

    def _format(self, value: int) -> str:
        if self.unit == "bytes":
            return f"{value / 1e6:.1f} MB"
        return str(value)

    def _line(self) -> str:
        if self.total is None:
            return f"{self.description}: {self._format(self.count)}"
        fraction = min(self.count / self.total, 1.0)
        filled = int(round(30 * fraction))
        bar = "#" * filled + "." * (30 - filled)
        return (
            f"{self.description} [{bar}] {fraction:4.0%} "
            f"{self._format(self.count)}/{self._format(self.total)}"
        )

    def update(self, amount: int = 1) -> None:
        """Advance by ``amount`` and redraw at most ten times a second."""
        self.count += amount
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last >= 0.1 or (self.total is not None and self.count >= self.total):
            self._last = now
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled and not self._closed:
            self.stream.write("\r" + self._line() + "\n")
            self.stream.flush()
        self._closed = True


def sha256_of(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file, as 64 lowercase hex digits.

    Examples
    --------
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


def _check_sha256(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    return sha256.lower()


def download_file(
    url: str,
    destination: str | os.PathLike,
    sha256: str | None,
    *,
    what: str = "the file",
    progress: bool = True,
    timeout: float = 60.0,
    stream: IO[str] | None = None,
) -> Path:
    """Download ``url`` to ``destination``, verifying its SHA-256 on the way.

    The bytes go to ``destination + ".part"`` and are renamed only once the
    hash matches; on any failure the partial file is deleted.

    Parameters
    ----------
    url : str
        ``https://``, ``http://`` or ``file://`` URL.
    destination : path-like
        Final file name; its folder must exist.
    sha256 : str or None
        Expected SHA-256 (64 hex digits); ``None`` skips the check.
    what : str
        Name of the data for messages, e.g. ``"cats vs dogs"``.
    progress : bool
        Show a progress bar on ``stream``.
    timeout : float
        Seconds to wait for the server.
    stream : file-like, optional
        Where the progress bar goes (``sys.stderr`` by default).

    Returns
    -------
    pathlib.Path
        ``destination``.

    Raises
    ------
    NetworkUnavailableError
        The server cannot be reached, or the connection broke off before all
        the bytes the server announced arrived; nothing is kept.
    DownloadError
        The server answered with an error (e.g. 404).
    ChecksumMismatchError
        The downloaded bytes have another SHA-256; nothing is kept.
    FileNotFoundError
        A ``file://`` URL names a file that does not exist, or the folder of
        ``destination`` does not exist.
    """
    sha256 = _check_sha256(sha256)
    destination = Path(destination)
    if not destination.parent.is_dir():
        raise FileNotFoundError(
            f"destination must be a file name in an existing folder; {destination.parent} "
            "does not exist"
        )
    part = destination.with_name(destination.name + ".part")
    scheme = urllib.parse.urlsplit(url).scheme
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as error:
        raise DownloadError(
            f"Could not download {what} from {url}: the server answered "
            f"{error.code} {error.reason}."
        ) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if scheme == "file":
            raise FileNotFoundError(f"Could not read {what} from {url}: {reason}") from error
        raise NetworkUnavailableError(
            f"Could not download {what} from {url}: the network is unreachable ({reason}). "
            + OFFLINE_ALTERNATIVE
        ) from error
    digest = hashlib.sha256()
    try:
        out = open(part, "wb")  # a local problem (e.g. no permission) is reported as it is
    except BaseException:
        response.close()
        raise
    try:
        with response, out:
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            bar = ProgressBar(
                expected, f"Downloading {what}", unit="bytes", stream=stream, enabled=progress
            )
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                digest.update(block)
                bar.update(len(block))
            bar.close()
            if expected is not None and bar.count < expected:
                # http.client ends a read early without an error when the connection drops.
                raise ConnectionError(f"received {bar.count} of {expected} bytes")
    except _NETWORK_ERRORS as error:
        part.unlink(missing_ok=True)
        raise NetworkUnavailableError(
            f"The download of {what} from {url} broke off ({error}); the partial file was "
            "deleted. Run the same command again to retry. " + OFFLINE_ALTERNATIVE
        ) from error
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    found = digest.hexdigest()
    if sha256 is not None and found != sha256:
        part.unlink(missing_ok=True)
        raise ChecksumMismatchError(
            f"The file downloaded from {url} has SHA-256 {found}, but {what} should have "
            f"{sha256}. The file may be damaged or tampered with; it was deleted and "
            "nothing was kept."
        )
    os.replace(part, destination)
    return destination


# --------------------------------------------------------------------------
# Safe extraction
# --------------------------------------------------------------------------


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
    """List the members of a zip or tar archive, refusing unsafe ones.

    Parameters
    ----------
    archive : path-like
        A ``.zip`` or a (compressed) tar file.
    root : path-like
        The folder it would be extracted into.

    Returns
    -------
    list of str
        Member names, in archive order.

    Raises
    ------
    UnsafeArchiveError
        Some members have absolute paths, ``..`` components, are links or
        device files; the message lists them.
    ValueError
        The file is neither a zip nor a tar archive.
    """
    root = Path(root).resolve()
    problems: list[str] = []
    names: list[str] = []
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                names.append(info.filename)
                why = _unsafe_name(info.filename, root)
                if why is None and (info.external_attr >> 16) & 0o170000 == 0o120000:
                    why = "symbolic link"
                if why:
                    problems.append(f"{info.filename!r} ({why})")
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            for member in tf.getmembers():
                names.append(member.name)
                why = _unsafe_name(member.name, root)
                if why is None and (member.issym() or member.islnk()):
                    why = "link"
                elif why is None and not (member.isfile() or member.isdir()):
                    why = "device or special file"
                if why:
                    problems.append(f"{member.name!r} ({why})")
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")
    if problems:
        shown = ", ".join(problems[:5]) + (
            f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise UnsafeArchiveError(
            f"Refusing to extract {archive}: {len(problems)} member(s) would be written outside "
            f"{root} or are not plain files: {shown}. Nothing was extracted."
        )
    return names


def safe_extract(archive: str | os.PathLike, root: str | os.PathLike) -> list[str]:
    """Extract a zip or tar archive into ``root`` after :func:`check_archive` passes.

    Returns
    -------
    list of str
        The member names.

    Raises
    ------
    UnsafeArchiveError
        See :func:`check_archive`; nothing is written in that case.
    """
    names = check_archive(archive, root)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(root)
    else:
        with tarfile.open(archive) as tf:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(root, filter="data")
            else:  # pragma: no cover - Python < 3.11.4; members were checked above
                tf.extractall(root)
    return names


def _read_marker(dest: Path) -> dict:
    try:
        return json.loads((dest / _MARKER).read_text())
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
    """Download an archive, verify it, and extract it into ``dest``; safe to run again.

    Parameters
    ----------
    url : str
        Where the archive is (``https://``, ``http://`` or ``file://``).
    dest : path-like
        Folder that receives the archive's contents; created when missing.
    sha256 : str or None
        Expected SHA-256 of the archive.
    archive_name : str, optional
        File name for the archive inside ``dest``; by default the URL's last part.
    what : str
        Name of the data for messages.
    keep_archive : bool
        Keep the downloaded archive after extraction (it is deleted by
        default). An archive that is already in ``dest`` under that name and
        matches ``sha256`` is used instead of downloading, and never deleted.
    progress : bool
        Show a progress bar.
    timeout : float
        Seconds to wait for the server.
    stream : file-like, optional
        Where progress goes.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    NetworkUnavailableError, DownloadError, ChecksumMismatchError, UnsafeArchiveError
        See :func:`download_file` and :func:`check_archive`. After any of them
        nothing new is left in ``dest`` (and ``dest`` itself is removed when
        this call created it).
    FileExistsError
        ``dest`` already holds an entry with the same name as one in the
        archive that an earlier download did not create, or a file named like
        the archive whose SHA-256 differs.
    """
    sha256 = _check_sha256(sha256)
    dest = Path(dest).expanduser()
    marker = _read_marker(dest)
    if marker.get("complete") and marker.get("sha256") == sha256 and marker.get("url") == url:
        return dest
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / (archive_name or Path(urllib.parse.urlsplit(url).path).name or "archive")
    staging: Path | None = None
    fetched = False
    try:
        if archive.is_file():
            # A copy put there beforehand (or kept by keep_archive): used, never deleted.
            if sha256 is not None and sha256_of(archive) != sha256:
                raise FileExistsError(
                    f"{archive} already exists but its SHA-256 is not {sha256}; the course "
                    "never overwrites files. Move that file away (or delete it if it is a "
                    "broken copy) and run again."
                )
        else:
            download_file(
                url, archive, sha256, what=what, progress=progress, timeout=timeout, stream=stream
            )
            fetched = True
        staging = Path(tempfile.mkdtemp(prefix=".extracting-", dir=dest))
        safe_extract(archive, staging)
        entries = sorted(p.name for p in staging.iterdir())
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
            os.replace(staging / name, target)
        state["complete"] = True
        (dest / _MARKER).write_text(json.dumps(state, indent=1))
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
            staging = None
        if fetched:
            archive.unlink(missing_ok=True)
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    if fetched and not keep_archive:
        archive.unlink(missing_ok=True)
    return dest
