"""Downloads, checksums and safe extraction, on archives the tests build and serve locally.

Nothing here touches the network: archives are served from ``file://`` URLs or
from an ``http.server`` thread on localhost, and "offline" is a localhost port
that nothing listens on (or a patched ``urlopen`` that fails like one).
"""

import hashlib
import http.server
import io
import json
import socket
import subprocess
import sys
import tarfile
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils import _download
from course_utils._download import (
    ChecksumMismatchError,
    DownloadError,
    UnsafeArchiveError,
    _progress,
    check_archive,
    download_and_extract,
)
from course_utils.data import (
    OFFLINE_ALTERNATIVE,
    NetworkUnavailableError,
    default_data_dir,
    download_cats_vs_dogs,
    load_dataset,
    sha256_of,
)

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# Building archives and serving them
# --------------------------------------------------------------------------


def _jpeg_bytes(value: int, size: int = 8) -> bytes:
    rng = np.random.default_rng(value)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
        buffer, format="JPEG"
    )
    return buffer.getvalue()


def _pet_members() -> dict[str, bytes]:
    """The cats vs dogs layout in miniature, with one corrupt JPEG as in the real archive."""
    members = {}
    for label in ("Cat", "Dog"):
        for i in range(3):
            members[f"PetImages/{label}/{i}.jpg"] = _jpeg_bytes(i + (10 if label == "Dog" else 0))
    good = _jpeg_bytes(99)
    members["PetImages/Dog/666.jpg"] = good[: len(good) // 2]  # truncated JPEG
    return members


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _closed_port_url() -> str:
    """An http URL on localhost where nothing listens: a connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/archive.zip"


@pytest.fixture
def pet_zip(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    archive = _zip(served / "pets.zip", _pet_members())
    return archive, sha256_of(archive)


@pytest.fixture
def server(tmp_path):
    """A localhost HTTP server for ``tmp_path/served``; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir(exist_ok=True)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def short_server():
    """A server that announces 1,000 bytes and sends 10, then hangs up."""

    class Short(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Short)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/archive.zip"
    httpd.shutdown()
    httpd.server_close()


# --------------------------------------------------------------------------
# Progress bar and hashing
# --------------------------------------------------------------------------


def test_progress_bar_draws_keras_progbar_under_its_description():
    out = io.StringIO()
    with _progress(4, "Writing", stream=out) as advance:
        for _ in range(4):
            advance()
    text = out.getvalue()
    assert text.startswith("Writing [4 steps]\n") and "4/4" in text


def test_progress_bar_without_total_and_disabled():
    out = io.StringIO()
    with _progress(None, "Downloading", stream=out) as advance:
        advance(25)
    assert out.getvalue().startswith("Downloading [? steps]") and "25/Unknown" in out.getvalue()
    quiet = io.StringIO()
    with _progress(3, "x", stream=quiet, enabled=False) as advance:
        advance(3)
    assert quiet.getvalue() == ""


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "data.bin"
    data = bytes(range(256)) * 50
    path.write_bytes(data)
    assert sha256_of(path, chunk_size=100) == hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------
# Fetching (keras.utils.get_file) and its errors
# --------------------------------------------------------------------------


def _fetch(url, dest, sha256=None, **kwargs):
    return download_and_extract(url, dest, sha256, **{"progress": False, **kwargs})


def test_download_over_http_with_progress(tmp_path, pet_zip, server):
    archive, digest = pet_zip
    out = io.StringIO()
    dest = _fetch(f"{server}/pets.zip", tmp_path / "got", digest, progress=True, stream=out)
    assert (dest / "PetImages" / "Cat" / "0.jpg").is_file()
    assert sorted(p.name for p in dest.iterdir()) == [_download._MARKER, "PetImages"]
    assert f"Downloading data from {server}/pets.zip" in out.getvalue()  # Keras' progress bar
    assert f"{len(archive.read_bytes())}/{len(archive.read_bytes())}" in out.getvalue()


def test_file_url_without_checksum_and_keep_archive(tmp_path, pet_zip):
    archive, _ = pet_zip
    dest = _fetch(archive.as_uri(), tmp_path / "copy", keep_archive=True)
    assert (dest / "pets.zip").read_bytes() == archive.read_bytes()


def test_tampered_download_is_refused_and_nothing_kept(tmp_path, pet_zip, server):
    archive, digest = pet_zip
    with zipfile.ZipFile(archive, "a") as zf:  # tampered with after the checksum was published
        zf.writestr("PetImages/Cat/extra.jpg", b"payload")
    with pytest.raises(ChecksumMismatchError) as caught:
        _fetch(f"{server}/pets.zip", tmp_path / "got", digest)
    message = str(caught.value)
    assert digest in message and sha256_of(archive) in message
    assert "tampered" in message and "nothing was kept" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"]


def test_http_error_is_a_download_error(tmp_path, server):
    with pytest.raises(DownloadError, match="404"):
        _fetch(f"{server}/missing.zip", tmp_path / "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"]


def test_unreachable_server_says_offline_and_names_the_alternative(tmp_path):
    url = _closed_port_url()
    with pytest.raises(NetworkUnavailableError) as caught:
        _fetch(url, tmp_path / "x", what="cats vs dogs", timeout=5)
    message = str(caught.value)
    assert url in message and "unreachable" in message and "no network?" in message
    assert "Offline" in message and "load_dataset('shapes')" in message
    assert list(tmp_path.iterdir()) == []


def test_connection_that_breaks_off_keeps_nothing(tmp_path, short_server):
    with pytest.raises(NetworkUnavailableError, match="broke off.*10 out of 1000 bytes"):
        _fetch(short_server, tmp_path / "x", timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_missing_file_url(tmp_path):
    url = (tmp_path / "nowhere.zip").as_uri()
    with pytest.raises(FileNotFoundError, match="nowhere.zip"):
        _fetch(url, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_local_write_errors_are_not_called_network_errors(tmp_path, pet_zip, monkeypatch):
    archive, digest = pet_zip

    class FullDisk:
        def __init__(self, file, mode):
            Path(file).write_bytes(b"")

        def write(self, data):
            raise OSError(28, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def full_disk(file, mode="r", *args, **kwargs):  # urlretrieve's open: writing fails
        return FullDisk(file, mode) if "w" in mode else open(file, mode, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "open", full_disk, raising=False)
    with pytest.raises(OSError, match="No space left") as caught:
        _fetch(archive.as_uri(), tmp_path / "x", digest)
    assert not isinstance(caught.value, NetworkUnavailableError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"]


@pytest.mark.parametrize("bad", ["abc", "g" * 64, 123])
def test_bad_sha256(tmp_path, bad):
    with pytest.raises(ValueError, match="sha256 must be 64 hexadecimal digits"):
        download_and_extract("file:///nothing", tmp_path / "x", bad)


# --------------------------------------------------------------------------
# check_archive, and extraction through download_and_extract
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_good_archive_extracts(tmp_path, kind):
    members = _pet_members()
    archive = (_zip if kind == "zip" else _tar)(tmp_path / f"a.{kind}", members)
    assert sorted(check_archive(archive, tmp_path / "out")) == sorted(members)
    target = download_and_extract(archive.as_uri(), tmp_path / "out", None, progress=False)
    assert _tree(target) == {
        **members,
        _download._MARKER: (target / _download._MARKER).read_bytes(),
    }


def _evil_members(outside: Path) -> dict[str, bytes]:
    return {
        "PetImages/Cat/0.jpg": b"fine",
        "../escaped.txt": b"up one level",
        "PetImages/../../escaped2.txt": b"up through a folder",
        str(outside / "absolute.txt"): b"absolute path",
    }


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_members_outside_the_target_are_refused_and_nothing_written(tmp_path, kind):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "target"
    target.mkdir()
    archive = (_zip if kind == "zip" else _tar)(tmp_path / f"evil.{kind}", _evil_members(outside))
    before = _tree(tmp_path)
    with pytest.raises(UnsafeArchiveError) as caught:
        download_and_extract(archive.as_uri(), target, None, progress=False)
    message = str(caught.value)
    assert "3 member(s)" in message and "Nothing was extracted" in message
    assert "'..' component" in message and "absolute path" in message
    assert _tree(tmp_path) == before
    assert list(target.iterdir()) == []


def test_tar_links_and_device_files_are_refused(tmp_path):
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tf:
        for name, kind in (
            ("sym", tarfile.SYMTYPE),
            ("hard", tarfile.LNKTYPE),
            ("dev", tarfile.CHRTYPE),
            ("fifo", tarfile.FIFOTYPE),
        ):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            tf.addfile(info)
    with pytest.raises(UnsafeArchiveError) as caught:
        check_archive(archive, tmp_path / "target")
    message = str(caught.value)
    assert "'sym' (link)" in message and "'hard' (link)" in message
    assert "'dev' (device or special file)" in message and "'fifo'" in message


def test_zip_symlink_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("PetImages/link")
        info.external_attr = 0o120777 << 16  # a symbolic link, as Info-ZIP stores it
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        check_archive(archive, tmp_path)


def test_windows_drive_and_many_problems_are_summarised(tmp_path):
    members = {f"../up{i}.txt": b"x" for i in range(6)}
    members["C:/windows.txt"] = b"x"
    archive = _zip(tmp_path / "many.zip", members)
    with pytest.raises(UnsafeArchiveError, match=r"7 member\(s\).* and 2 more"):
        check_archive(archive, tmp_path / "target")


def test_member_through_a_linked_folder_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    (target / "PetImages").symlink_to(elsewhere, target_is_directory=True)
    archive = _zip(tmp_path / "a.zip", {"PetImages/x.jpg": b"x"})
    with pytest.raises(UnsafeArchiveError, match="outside the target folder"):
        check_archive(archive, target)
    with pytest.raises(FileExistsError, match="PetImages.*never overwrites"):
        download_and_extract(archive.as_uri(), target, None, progress=False)
    assert list(elsewhere.iterdir()) == []


def test_empty_member_name_is_refused(tmp_path):
    archive = tmp_path / "empty-name.tar"
    with tarfile.open(archive, "w") as tf:
        tf.addfile(tarfile.TarInfo(""), io.BytesIO(b""))
    with pytest.raises(UnsafeArchiveError, match="empty name"):
        check_archive(archive, tmp_path)


def test_not_an_archive(tmp_path):
    path = tmp_path / "notes.zip"
    path.write_text("not an archive")
    with pytest.raises(ValueError, match="neither a zip nor a tar archive"):
        check_archive(path, tmp_path)


# --------------------------------------------------------------------------
# download_and_extract and download_cats_vs_dogs
# --------------------------------------------------------------------------


def test_good_archive_extracts_and_rerun_is_a_no_op(tmp_path, pet_zip):
    archive, digest = pet_zip
    dest = tmp_path / "data" / "pets"
    assert download_and_extract(archive.as_uri(), dest, digest, progress=False) == dest
    assert _tree(dest / "PetImages") == {
        k.removeprefix("PetImages/"): v for k, v in _pet_members().items()
    }
    marker = json.loads((dest / _download._MARKER).read_text())
    assert marker == {
        "url": archive.as_uri(),
        "sha256": digest,
        "entries": ["PetImages"],
        "complete": True,
    }
    assert not (dest / "pets.zip").exists()  # the downloaded archive is not kept by default
    assert not [p for p in dest.iterdir() if p.name.startswith(".extracting")]
    stamps = {p: p.stat().st_mtime_ns for p in dest.rglob("*")}
    archive.unlink()  # a second run must not even read the URL
    assert download_and_extract(archive.as_uri(), dest, digest, progress=False) == dest
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*")} == stamps


def test_tar_archive_and_keep_archive(tmp_path):
    members = {"notes/readme.txt": b"hello", "top.txt": b"top"}
    archive = _tar(tmp_path / "small.tar.gz", members)
    dest = tmp_path / "dest"
    download_and_extract(
        archive.as_uri(), dest, sha256_of(archive), keep_archive=True, progress=False
    )
    assert (dest / "small.tar.gz").read_bytes() == archive.read_bytes()
    assert (dest / "notes" / "readme.txt").read_bytes() == b"hello"
    assert (dest / "top.txt").read_bytes() == b"top"


def test_tampered_archive_leaves_no_trace(tmp_path, pet_zip):
    archive, digest = pet_zip
    archive.write_bytes(archive.read_bytes() + b"tampered")
    dest = tmp_path / "data" / "pets"
    with pytest.raises(ChecksumMismatchError, match="SHA-256"):
        download_and_extract(archive.as_uri(), dest, digest, progress=False)
    assert not dest.exists()  # the folder this call created is gone too


def test_tampered_archive_in_an_existing_folder_keeps_its_files(tmp_path, pet_zip):
    archive, digest = pet_zip
    archive.write_bytes(archive.read_bytes()[:-10])
    dest = tmp_path / "pets"
    dest.mkdir()
    (dest / "mine.txt").write_text("user file")
    with pytest.raises(ChecksumMismatchError):
        download_and_extract(archive.as_uri(), dest, digest, progress=False)
    assert _tree(dest) == {"mine.txt": b"user file"}


def test_unsafe_archive_download_keeps_nothing_and_writes_nothing_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = _zip(tmp_path / "evil.zip", _evil_members(outside))
    dest = outside / "dest"
    before = _tree(tmp_path)
    with pytest.raises(UnsafeArchiveError):
        download_and_extract(archive.as_uri(), dest, sha256_of(archive), progress=False)
    assert not dest.exists()
    assert _tree(tmp_path) == before


def test_existing_entries_are_never_overwritten(tmp_path, pet_zip):
    archive, digest = pet_zip
    dest = tmp_path / "pets"
    (dest / "PetImages").mkdir(parents=True)
    (dest / "PetImages" / "mine.jpg").write_bytes(b"user photo")
    with pytest.raises(FileExistsError, match="PetImages.*never overwrites"):
        download_and_extract(archive.as_uri(), dest, digest, progress=False)
    assert _tree(dest) == {"PetImages/mine.jpg": b"user photo"}


def test_interrupted_extraction_is_finished_on_the_next_run(tmp_path, pet_zip):
    archive, _ = pet_zip
    _zip(archive, {**_pet_members(), "PetImages.txt": b"fresh"})
    digest = sha256_of(archive)
    dest = tmp_path / "pets"  # as an earlier run left it, half-way through moving entries
    (dest / "PetImages" / "Cat").mkdir(parents=True)
    (dest / "PetImages" / "Cat" / "0.jpg").write_bytes(b"half")
    (dest / "PetImages.txt").write_text("stale")
    state = {"url": "x", "sha256": digest, "entries": ["PetImages", "PetImages.txt"]}
    (dest / _download._MARKER).write_text(json.dumps({**state, "complete": False}))
    download_and_extract(archive.as_uri(), dest, digest, progress=False)
    assert _tree(dest / "PetImages") == {
        k.removeprefix("PetImages/"): v for k, v in _pet_members().items()
    }
    assert (dest / "PetImages.txt").read_bytes() == b"fresh"
    assert json.loads((dest / _download._MARKER).read_text())["complete"] is True


def test_archive_placed_in_the_folder_is_used_offline_and_kept(tmp_path, pet_zip):
    archive, digest = pet_zip
    dest = tmp_path / "pets"
    dest.mkdir()
    copy = dest / "pets.zip"
    copy.write_bytes(archive.read_bytes())
    download_and_extract(_closed_port_url(), dest, digest, archive_name="pets.zip", timeout=5)
    assert (dest / "PetImages" / "Cat" / "0.jpg").is_file()
    assert copy.read_bytes() == archive.read_bytes()  # the user's copy stays


def test_a_different_file_under_the_archive_name_is_not_overwritten(tmp_path, pet_zip):
    archive, digest = pet_zip
    dest = tmp_path / "pets"
    dest.mkdir()
    (dest / "pets.zip").write_bytes(b"someone else's zip")
    with pytest.raises(FileExistsError, match="pets.zip already exists"):
        download_and_extract(archive.as_uri(), dest, digest, progress=False)
    assert _tree(dest) == {"pets.zip": b"someone else's zip"}


def test_download_cats_vs_dogs_from_a_local_copy(tmp_path, pet_zip):
    archive, digest = pet_zip
    out = io.StringIO()
    root = download_cats_vs_dogs(tmp_path / "cvd", url=archive.as_uri(), sha256=digest, stream=out)
    assert root == tmp_path / "cvd" / "PetImages"
    assert sorted(p.name for p in root.iterdir()) == ["Cat", "Dog"]
    assert f"Downloading data from {archive.as_uri()}" in out.getvalue()
    # The corrupt JPEG is still there: it is reported by the loaders, never deleted.
    assert (root / "Dog" / "666.jpg").is_file()


def test_download_cats_vs_dogs_without_pet_images_folder(tmp_path):
    archive = _zip(tmp_path / "flat.zip", {"cat/0.jpg": _jpeg_bytes(0)})
    root = download_cats_vs_dogs(
        tmp_path / "cvd", url=archive.as_uri(), sha256=sha256_of(archive), progress=False
    )
    assert root == tmp_path / "cvd"


def test_download_cats_vs_dogs_offline(tmp_path):
    with pytest.raises(NetworkUnavailableError, match="unreachable") as caught:
        download_cats_vs_dogs(tmp_path / "cvd", url=_closed_port_url(), progress=False, timeout=5)
    assert OFFLINE_ALTERNATIVE in str(caught.value)
    assert not (tmp_path / "cvd").exists()


def test_default_data_dir_follows_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert default_data_dir() == tmp_path / "kh" / "datasets"
    monkeypatch.delenv("KERAS_HOME")
    assert default_data_dir() == Path("~/.keras/datasets").expanduser()


# --------------------------------------------------------------------------
# load_dataset("cats_vs_dogs")
# --------------------------------------------------------------------------


def _offline(monkeypatch):
    """Make every URL fail the way it does without a network."""

    def unreachable(url, *args, **kwargs):
        raise urllib.error.URLError(OSError(101, "Network is unreachable"))

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)  # what get_file calls


def test_load_cats_vs_dogs_offline_says_so(tmp_path, monkeypatch):
    _offline(monkeypatch)
    with pytest.raises(NetworkUnavailableError, match="Network is unreachable") as caught:
        load_dataset("cats_vs_dogs", data_dir=tmp_path)
    assert "load_dataset('shapes')" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_load_cats_vs_dogs_without_download_names_the_script(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset("cats-vs-dogs", data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert str(tmp_path / "cats_vs_dogs") in message
    assert "download_cats_vs_dogs.py" in message and "load_dataset('shapes')" in message


def test_load_cats_vs_dogs_from_a_finished_mirror_download_stays_offline(
    tmp_path, pet_zip, monkeypatch
):
    archive, digest = pet_zip
    download_cats_vs_dogs(
        tmp_path / "cats_vs_dogs", url=archive.as_uri(), sha256=digest, progress=False
    )
    _offline(monkeypatch)  # the photos are there: no download is attempted
    splits = load_dataset(
        "cats_vs_dogs", image_size=8, data_dir=tmp_path, val_fraction=0.2, test_fraction=0.2
    )
    assert splits.name == "cats_vs_dogs" and splits.class_names == ("Cat", "Dog")
    assert sum(splits.counts.values()) == 6
    assert [s.path.name for s in splits.report.skipped] == ["666.jpg"]


def test_load_cats_vs_dogs_resumes_an_interrupted_download(tmp_path, monkeypatch):
    dest = tmp_path / "cats_vs_dogs"
    (dest / "PetImages" / "Cat").mkdir(parents=True)
    (dest / _download._MARKER).write_text(json.dumps({"complete": False}))
    _offline(monkeypatch)
    with pytest.raises(NetworkUnavailableError):  # it tries to download again
        load_dataset("cats_vs_dogs", data_dir=tmp_path)
    assert (dest / "PetImages" / "Cat").is_dir()


# --------------------------------------------------------------------------
# The command-line script
# --------------------------------------------------------------------------


def _script(*args):
    return subprocess.run(
        [sys.executable, str(REPO / "data_scripts" / "download_cats_vs_dogs.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_script_downloads_verifies_and_reports_corrupt_jpegs(tmp_path, pet_zip):
    archive, digest = pet_zip
    args = ["--dest", str(tmp_path / "cvd"), "--url", archive.as_uri(), "--sha256", digest]
    result = _script(*args)
    assert result.returncode == 0, result.stderr
    assert f"Images are in {tmp_path / 'cvd' / 'PetImages'}" in result.stdout
    assert "6 images in 2 classes" in result.stdout
    assert "Dog/666.jpg: corrupt or truncated image" in result.stdout
    assert "Downloading data from" in result.stderr
    again = _script(*args, "--quiet", "--skip-check")  # safe to re-run: nothing to do
    assert again.returncode == 0 and again.stderr == ""
    assert "Images are in" in again.stdout and "skipped" not in again.stdout


def test_script_tampered_download_fails_cleanly(tmp_path, pet_zip):
    archive, _ = pet_zip
    result = _script(
        "--dest", str(tmp_path / "cvd"), "--url", archive.as_uri(), "--sha256", "0" * 64, "--quiet"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: The file downloaded from")
    assert "tampered" in result.stderr
    assert not (tmp_path / "cvd").exists()
