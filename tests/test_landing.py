"""The landing zone ledger: every file with SHA-256, size and first-seen time; raw files never touched."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from npaf_pipeline.landing import changed_files, scan, update_ledger
from npaf_pipeline.sources import registry
from npaf_pipeline.sources.base import SourceFileError
from npaf_pipeline.sources.registry import LandingEntryError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_scan_lists_files_by_source_and_skips_documentation(tmp_path: Path) -> None:
    _write(tmp_path / "ae_monthly" / "b.csv", "x")
    _write(tmp_path / "ae_monthly" / "SOURCE.md", "notes")
    _write(tmp_path / "ae_monthly" / "~$lock.xlsx", "lock")
    _write(tmp_path / "cwt_crs" / "sub" / "a.xlsx", "yy")
    _write(tmp_path / "README.md", "top-level notes are not a source")
    files = scan(tmp_path)
    assert [(f.source, f.path.name, f.size_bytes) for f in files] == [
        ("ae_monthly", "b.csv", 1),
        ("cwt_crs", "a.xlsx", 2),
    ]
    assert files[0].sha256 == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"  # sha256("x")


def test_ledger_keeps_first_seen_and_records_changed_bytes_as_a_new_version(tmp_path: Path) -> None:
    landing, ledger = tmp_path / "landing", tmp_path / "state" / "ledger.parquet"
    f = _write(landing / "ae_monthly" / "m.csv", "v1")
    before = f.stat().st_mtime_ns
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    first = update_ledger(ledger, scan(landing), now=t1)
    again = update_ledger(ledger, scan(landing), now=t2)
    assert first.height == again.height == 1
    assert again["first_seen"].to_list() == [t1]
    f.write_text("v2")
    changed = update_ledger(ledger, scan(landing), now=t2)
    assert changed.height == 2
    assert sorted(changed["first_seen"].to_list()) == [t1, t2]
    assert f.read_text() == "v2" and f.stat().st_mtime_ns >= before  # the ledger never rewrites raw files
    assert not list(ledger.parent.glob("*.tmp"))


def test_changed_files_are_new_paths_or_new_bytes(tmp_path: Path) -> None:
    a = _write(tmp_path / "s" / "a.csv", "1")
    _write(tmp_path / "s" / "b.csv", "2")
    files = scan(tmp_path)
    seen = {str(f.path): f.sha256 for f in files}
    assert changed_files(files, seen) == []
    a.write_text("changed")
    os.utime(a)
    assert [f.path.name for f in changed_files(scan(tmp_path), seen)] == ["a.csv"]


# --- issue 11.2: entries that are not readable files are errors naming them, never skipped -------------------

SOURCES = [*registry.VALUE_SOURCES, "override_flags", "intensive_support", "ods_etr", "trust_reference", "leadership"]


def _folder(entry) -> None:
    entry.mkdir()


def _nested_empty_folder(entry) -> None:
    (entry / "2025").mkdir(parents=True)


def _dangling_link(entry) -> None:
    target = entry.parent / "gone.csv"
    target.write_text("x")
    entry.symlink_to(target)
    target.unlink()


def _link_loop(entry) -> None:
    entry.symlink_to(entry)


def _fifo(entry) -> None:
    os.mkfifo(entry)


def _socket(entry) -> None:
    """Bound by a relative name from its folder: a socket's path is limited to about 100 bytes."""
    here = os.getcwd()
    os.chdir(entry.parent)
    try:
        server = socket.socket(socket.AF_UNIX)
        server.bind(entry.name)
        server.close()  # the socket file stays
    finally:
        os.chdir(here)


def _link_to_folder_above(entry) -> None:
    entry.symlink_to(entry.parent, target_is_directory=True)


BAD_ENTRIES = {
    "folder in place of a file": (_folder, "a folder with no file in it"),
    "nested empty folder": (_nested_empty_folder, "a folder with no file in it"),
    "dangling symbolic link": (_dangling_link, "a symbolic link to .*gone.csv, which does not exist"),
    "symbolic link loop": (_link_loop, "cannot be read"),
    "FIFO": (_fifo, "a FIFO"),
    "socket": (_socket, "a socket"),
    "link to a folder above": (_link_to_folder_above, "a loop"),
}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", BAD_ENTRIES)
def test_an_entry_that_is_not_a_readable_file_is_an_error_naming_it(tmp_path: Path, source: str, kind: str) -> None:
    make, message = BAD_ENTRIES[kind]
    _write(tmp_path / source / "Monthly-AE-April-2025.csv", "x")
    entry = tmp_path / source / "Monthly-AE-May-2025.csv"
    make(entry)
    for listing in (lambda: registry.source_files(tmp_path, source), lambda: scan(tmp_path)):
        with pytest.raises(LandingEntryError, match=message) as err:
            listing()
        assert err.value.path.startswith(str(entry)) and str(err.value).startswith(err.value.path + ": ")
        assert isinstance(err.value, SourceFileError | OSError | ValueError)


def test_a_folder_in_place_of_a_month_fails_the_adapter_read_through_the_registry(tmp_path: Path) -> None:
    """End to end through the ingest path: listing the A&E folder fails, so no quarter is published without May."""
    for name in ("Monthly-AE-April-2025.csv", "Monthly-AE-June-2025.csv"):
        _write(tmp_path / "ae_monthly" / name, "x")
    (tmp_path / "ae_monthly" / "Monthly-AE-May-2025.csv").mkdir()
    with pytest.raises(LandingEntryError, match=r"Monthly-AE-May-2025\.csv: a folder with no file in it"):
        registry.source_files(tmp_path, "ae_monthly")


def test_symbolic_links_to_real_files_and_folders_with_files_are_read(tmp_path: Path) -> None:
    """The README tells users to symlink the files they have downloaded: that keeps working."""
    real = _write(tmp_path / "downloads" / "Monthly-AE-April-2025.csv", "april")
    folder = tmp_path / "landing" / "ae_monthly"
    folder.mkdir(parents=True)
    (folder / real.name).symlink_to(real)
    relative = folder / "Monthly-AE-May-2025.csv"
    _write(tmp_path / "downloads" / "may.csv", "may")
    relative.symlink_to(Path("..") / ".." / "downloads" / "may.csv")
    _write(folder / "2025" / "Monthly-AE-June-2025.csv", "june")
    assert [p.name for p in registry.source_files(tmp_path / "landing", "ae_monthly")] == [
        "Monthly-AE-June-2025.csv",
        "Monthly-AE-April-2025.csv",
        "Monthly-AE-May-2025.csv",
    ]
    assert [f.size_bytes for f in scan(tmp_path / "landing")] == [4, 5, 3]


NOBODY = 65534


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX processes and users")
def test_an_unreadable_file_is_an_error_naming_it(tmp_path: Path) -> None:
    """chmod 000 does not stop root from reading a file, so the listing runs in a forked child that, when the tests
    run as root, first becomes the unprivileged user ``nobody``: a real permission refusal either way."""
    root = Path(tempfile.mkdtemp(prefix="npaf-unreadable-"))
    try:
        root.chmod(0o755)
        folder = root / "ae_monthly"
        folder.mkdir()
        folder.chmod(0o755)
        secret = folder / "Monthly-AE-May-2025.csv"
        secret.write_text("x")
        secret.chmod(0o000)
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # the child: only os calls and the listing (no threads, no polars)
            os.close(read_end)
            code = 1
            try:
                if os.geteuid() == 0:
                    os.setgid(NOBODY)
                    os.setuid(NOBODY)
                registry.source_files(root, "ae_monthly")
            except LandingEntryError as exc:
                os.write(write_end, str(exc).encode())
                code = 3
            except BaseException as exc:
                os.write(write_end, repr(exc).encode())
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            said = pipe.read()
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 3, said
        assert said == f"{secret}: cannot be read (Permission denied): check its permissions"
    finally:
        shutil.rmtree(root)
