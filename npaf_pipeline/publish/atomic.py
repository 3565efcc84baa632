"""Versioned snapshots behind one atomic pointer: a reader sees the whole old snapshot or the whole new one.

Layout of an output folder::

    .snapshots/<id>/            one complete snapshot: table folders, manifests, datapackage.json, npaf.duckdb,
                                data-docs; <id> is a digest of its data files, so the same data keeps its name
    current -> .snapshots/<id>  the one pointer a publish changes, with one rename()
    <name> -> current/<name>    the stable reader paths (each table folder, manifests, data-docs,
                                datapackage.json, npaf.duckdb), created once and never changed afterwards
    .staging/<uuid>/            a snapshot being built, outside every reader path (debris after a crash)
    .publish.lock               one publish at a time

A new snapshot is built under ``.staging`` by hard-linking the files of the current one that do not change and
writing the new ones, moved whole to ``.snapshots/<id>`` and made current by renaming a fresh symlink over
``current``. Every path a reader opens resolves through ``current``, so each path shows one snapshot; a reader
that resolved ``current`` once (the DuckDB catalog does: its views name the files inside its own snapshot) keeps
reading that snapshot while newer ones are published, until it is garbage-collected: a publish keeps the
current snapshot and the ``keep - 1`` most recently current before it.

Snapshot files are made read-only, because a file may be hard-linked into several snapshots.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shutil
import socket
import stat
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

STAGING = ".staging"
SNAPSHOTS = ".snapshots"
CURRENT = "current"
LOCK_FILE = ".publish.lock"
LOCK_TIMEOUT_S = 1800.0
KEEP_SNAPSHOTS = 3
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2

Checkpoint = Callable[[str], None]


def _noop(_: str) -> None:
    return None


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


class SymlinksUnsupported(OSError):
    """The output folder's file system (or the platform's permissions) cannot hold symbolic links."""


def require_symlinks(out_dir: Path) -> None:
    """Fail before any work where the stable reader paths cannot be symlinks (see docs/outputs.md)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    probe = out_dir / f".symlink-probe.{uuid.uuid4().hex}"
    try:
        os.symlink(CURRENT, probe, target_is_directory=True)
    except (OSError, NotImplementedError) as exc:
        raise SymlinksUnsupported(
            f"{out_dir}: cannot create symbolic links here ({exc}); published snapshots are switched with one "
            "symlink, so publish to a local folder on a file system that has them (on Windows, enable Developer "
            "Mode or run with the 'Create symbolic links' right)"
        ) from exc
    probe.unlink(missing_ok=True)


def current_snapshot(out_dir: Path) -> Path | None:
    """The folder of the current snapshot, or None before the first publish."""
    link = out_dir / CURRENT
    if link.is_symlink() and link.is_dir():
        return out_dir / SNAPSHOTS / Path(os.readlink(link)).name
    return None


def _point(link: Path, target: str) -> None:
    """Make ``link`` a symlink to ``target`` with one rename (atomic for a reader resolving ``link``)."""
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex}.link")
    os.symlink(target, tmp, target_is_directory=True)
    try:
        os.replace(tmp, link)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _link_tree(source: Path, target: Path, skip: Callable[[Path], bool]) -> None:
    """Hard-link every file under ``source`` into ``target`` (same relative paths) unless ``skip(rel)``."""
    for folder, _dirs, files in os.walk(source):
        for name in files:
            src = Path(folder) / name
            rel = src.relative_to(source)
            if skip(rel):
                continue
            dst = target / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, dst)


def snapshot_id(root: Path, derived: Iterable[str]) -> str:
    """A digest of every file of a snapshot but the derived ones (named by their top-level entry)."""
    skip = set(derived)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] not in skip):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return digest.hexdigest()[:20]


def _seal(root: Path) -> None:
    """Make every file read-only (it may be hard-linked into other snapshots) and flush the folder entries."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Transaction:
    """One snapshot being built under ``.staging``; ``path(rel)`` is where to write what readers see at
    ``<out>/<rel>``. :meth:`carry_over` links the unchanged files of the current snapshot, :meth:`seal` names the
    snapshot, :meth:`commit` stores it and makes it current in one rename."""

    def __init__(self, out_dir: Path, checkpoint: Checkpoint | None = None) -> None:
        self.out_dir = out_dir
        self.root = out_dir / STAGING / uuid.uuid4().hex
        self.root.mkdir(parents=True)
        self.checkpoint = checkpoint or _noop
        self.id: str | None = None

    def path(self, rel: Path) -> Path:
        """Staging folder for ``rel`` (relative to the output root), created if missing."""
        staged = self.root / rel
        staged.mkdir(parents=True, exist_ok=True)
        return staged

    def carry_over(self, skip: Callable[[Path], bool]) -> None:
        """Hard-link every file of the current snapshot unless ``skip(relative path)`` (replaced or derived)."""
        current = current_snapshot(self.out_dir)
        if current is not None:
            _link_tree(current, self.root, skip)

    @property
    def final(self) -> Path:
        """Where the snapshot will live once committed (known after :meth:`seal`)."""
        if self.id is None:
            raise RuntimeError("seal() the snapshot before asking where it will live")
        return self.out_dir / SNAPSHOTS / self.id

    def seal(self, derived: Iterable[str]) -> str:
        """Name the snapshot from its data files (``derived`` top-level entries, built from them, excluded)."""
        self.id = snapshot_id(self.root, derived)
        return self.id

    def commit(self, keep: int = KEEP_SNAPSHOTS, finish: Callable[[Path], None] | None = None) -> Path:
        """Store the snapshot, finish it, create missing stable paths, switch ``current`` in one rename, collect.

        ``finish(folder)`` adds what must name the snapshot's final place (the catalog); it runs on the stored
        snapshot, which readers cannot reach until ``current`` names it, and must leave an unchanged file alone.
        A snapshot with the same data that already exists is reused, so a rerun changes no byte.
        """
        final = self.final
        _seal(self.root)
        if final.is_dir():
            self.abort()
        else:
            final.parent.mkdir(exist_ok=True)
            os.rename(self.root, final)
            _remove_if_empty(self.root.parent)
            _fsync_dir(final.parent)
        self.checkpoint("stored snapshot")
        if finish is not None:
            finish(final)
            _seal(final)
            self.checkpoint("finished snapshot")
        is_current = current_snapshot(self.out_dir) == final
        if not is_current:  # not current: first in line for garbage collection should this publish die here
            os.utime(final, ns=(0, 0))
        for entry in sorted(final.iterdir()):
            stable = self.out_dir / entry.name
            if not entry.name.startswith(".") and not stable.is_symlink():  # dangling until ``current`` holds it
                os.symlink(f"{CURRENT}/{entry.name}", stable, target_is_directory=entry.is_dir())
                self.checkpoint(f"linked {entry.name}")
        if not is_current:
            os.utime(final)  # the order snapshots were made current in, for garbage collection
            _point(self.out_dir / CURRENT, f"{SNAPSHOTS}/{final.name}")
            _fsync_dir(self.out_dir)
        self.checkpoint("swapped current")
        collect_garbage(self.out_dir, keep, self.checkpoint)
        return final

    def abort(self) -> None:
        """Drop what is staged."""
        _rmtree(self.root)
        _remove_if_empty(self.root.parent)


def _rmtree(path: Path) -> None:
    def _writable(func: Callable[..., object], target: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(Path(target).parent, 0o755)
            func(target)

    if path.exists() or path.is_symlink():
        shutil.rmtree(path, onerror=_writable)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


def collect_garbage(out_dir: Path, keep: int = KEEP_SNAPSHOTS, checkpoint: Checkpoint | None = None) -> list[str]:
    """Delete snapshots beyond the current one and the ``keep - 1`` most recently current before it.

    Each goes first to ``.staging`` with one rename, so a kill mid-delete never leaves a partial snapshot under
    ``.snapshots`` (where a later publish of the same data would reuse it); :func:`recover` removes the rest.
    """
    step = checkpoint or _noop
    store = out_dir / SNAPSHOTS
    current = current_snapshot(out_dir)
    if current is None or not store.is_dir():
        return []
    others = sorted(
        (p for p in store.iterdir() if p.is_dir() and p.name != current.name),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
        reverse=True,
    )
    removed = []
    for old in others[max(keep - 1, 0) :]:
        trash = out_dir / STAGING / f"gc-{old.name}"
        trash.parent.mkdir(exist_ok=True)
        os.rename(old, trash)
        step(f"gc moved {old.name}")
        _rmtree(trash)
        removed.append(old.name)
        step(f"gc removed {old.name}")
    _remove_if_empty(out_dir / STAGING)
    return removed


def adopt_legacy(out_dir: Path, names: Iterable[str], checkpoint: Checkpoint | None = None) -> list[str]:
    """Turn a folder published before snapshots (real table folders at the top) into the snapshot layout.

    The top-level entries are first hard-linked, unchanged, into a snapshot made current; then each is exchanged
    for its symlink in one atomic rename, so readers see the same files throughout. Safe to run again after a
    kill part-way.
    """
    step = checkpoint or _noop
    legacy = [n for n in names if (out_dir / n).exists() and not (out_dir / n).is_symlink()]
    if not legacy:
        return []
    if current_snapshot(out_dir) is None:
        txn = Transaction(out_dir, checkpoint)
        for name in legacy:
            source = out_dir / name
            if source.is_dir():
                _link_tree(source, txn.root / name, lambda _rel: False)
            else:
                os.link(source, txn.root / name)
        txn.seal(())
        final = txn.final
        _seal(txn.root)
        if final.is_dir():
            txn.abort()
        else:
            final.parent.mkdir(exist_ok=True)
            os.rename(txn.root, final)
            _remove_if_empty(txn.root.parent)
        _point(out_dir / CURRENT, f"{SNAPSHOTS}/{final.name}")
        step("adopted legacy snapshot")
    for name in legacy:
        live = out_dir / name
        tmp = out_dir / f".{name}.{uuid.uuid4().hex}.link"
        os.symlink(f"{CURRENT}/{name}", tmp, target_is_directory=live.is_dir())
        trash = out_dir / STAGING / f"legacy-{uuid.uuid4().hex}"
        trash.parent.mkdir(exist_ok=True)
        if _exchange(tmp, live):
            os.rename(tmp, trash)  # ``tmp`` now holds the legacy folder
        else:  # no atomic exchange here: the name is missing between these two renames
            os.rename(live, trash)
            os.rename(tmp, live)
        step(f"adopted {name}")
        _rmtree(trash)
    _remove_if_empty(out_dir / STAGING)
    return legacy


def recover(out_dir: Path) -> list[Path]:
    """Clear what an interrupted publish left behind: staged snapshots, half-deleted ones, temporary links.

    Also puts back a live folder that a publish of the previous layout had moved aside (``.staging/*/old``).
    """
    restored: list[Path] = []
    staging = out_dir / STAGING
    if staging.is_dir():
        for txn in sorted(p for p in staging.iterdir() if p.is_dir()):
            old = txn / "old"
            if old.is_dir():
                for moved in sorted(old.rglob("quarter=*")):
                    rel = moved.relative_to(old)
                    live = out_dir / rel
                    if moved.is_dir() and not (out_dir / rel.parts[0]).is_symlink() and not live.exists():
                        live.parent.mkdir(parents=True, exist_ok=True)
                        os.rename(moved, live)
                        restored.append(live)
            _rmtree(txn)
        _remove_if_empty(staging)
    if out_dir.is_dir():
        for probe in out_dir.glob(".symlink-probe.*"):
            probe.unlink(missing_ok=True)
        for tmp in out_dir.glob(".*.link"):  # a temporary link, or a legacy folder exchanged out of the way
            if tmp.is_dir() and not tmp.is_symlink():
                _rmtree(tmp)
            else:
                tmp.unlink()
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
