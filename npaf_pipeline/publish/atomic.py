"""Replace a quarter's folders so readers see the old snapshot or the new one, never a mix inside a folder.

New files are written under ``<out>/.staging/<transaction>/new/`` (outside every table's folder, so no
reader's glob picks them up), then each quarter folder is swapped in. On Linux the swap is one atomic
``renameat2(RENAME_EXCHANGE)``; elsewhere the live folder is first moved aside to ``old/`` and moved back by
:func:`recover` if the process dies between the two renames. The previous version is deleted only after
every folder of the transaction is in place.

One publish at a time per output folder: :func:`publish_lock` holds an exclusive lock on ``<out>/.publish.lock``
for the whole publish, so a second publisher (another Dagster run, a backfill) waits for it rather than
clearing its staging area as debris.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

STAGING = ".staging"
LOCK_FILE = ".publish.lock"
LOCK_TIMEOUT_S = 1800.0
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths; False where the platform or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


class Transaction:
    """Folders staged for one commit; ``path(rel)`` is where to write what will live at ``<out>/<rel>``."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.root = out_dir / STAGING / uuid.uuid4().hex
        self._units: list[Path] = []

    def path(self, unit: Path) -> Path:
        """Staging folder for a swap unit (a path relative to the output root, e.g. ``t/fy=…/quarter=Q1``)."""
        if unit not in self._units:
            self._units.append(unit)
        staged = self.root / "new" / unit
        staged.mkdir(parents=True, exist_ok=True)
        return staged

    def commit(self) -> None:
        """Swap every staged folder into place, then delete the previous versions."""
        for unit in self._units:
            _swap(self.root / "new" / unit, self.out_dir / unit, self.root / "old" / unit)
        self.abort()

    def abort(self) -> None:
        """Drop what is staged (after a commit: the previous versions)."""
        shutil.rmtree(self.root, ignore_errors=True)
        _remove_if_empty(self.root.parent)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


def _swap(new: Path, live: Path, old: Path) -> None:
    live.parent.mkdir(parents=True, exist_ok=True)
    if not live.exists():
        os.rename(new, live)
        return
    if _exchange(new, live):
        return
    old.parent.mkdir(parents=True, exist_ok=True)
    os.rename(live, old)
    os.rename(new, live)


def recover(out_dir: Path) -> list[Path]:
    """Clear what an interrupted publish left behind; put back any live folder it had moved aside."""
    restored: list[Path] = []
    staging = out_dir / STAGING
    if not staging.is_dir():
        return restored
    for txn in sorted(p for p in staging.iterdir() if p.is_dir()):
        old = txn / "old"
        if old.is_dir():
            for moved in sorted(old.rglob("quarter=*")):
                live = out_dir / moved.relative_to(old)
                if moved.is_dir() and not live.exists():
                    live.parent.mkdir(parents=True, exist_ok=True)
                    os.rename(moved, live)
                    restored.append(live)
        shutil.rmtree(txn, ignore_errors=True)
    _remove_if_empty(staging)
    return restored


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write a whole file through a hidden temporary sibling and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class PublishLockTimeout(TimeoutError):
    """Another publish held the output folder for longer than the caller would wait."""


@contextlib.contextmanager
def publish_lock(
    out_dir: Path, timeout_s: float = LOCK_TIMEOUT_S, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the output folder's publish lock (an OS file lock, released if the process dies).

    Waits up to ``timeout_s`` for another publisher, calling ``on_wait`` once with who holds it, then raises
    :class:`PublishLockTimeout` naming the holder. Where the platform has no ``fcntl`` the lock is advisory only.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_FILE
    with open(path, "a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + timeout_s
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(path)
                if time.monotonic() >= deadline:
                    raise PublishLockTimeout(
                        f"{out_dir}: another publish has held {LOCK_FILE} for over {timeout_s:.0f} s ({holder}); "
                        "wait for it to finish or publish to another folder"
                    ) from None
                if on_wait is not None and not told:
                    on_wait(f"waiting for another publish to {out_dir} ({holder})")
                    told = True
                time.sleep(0.2)
        try:
            handle.seek(0)
            handle.truncate()
            started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": started}))
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "holder unknown"
    if not info:
        return "holder unknown"
    return f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"
