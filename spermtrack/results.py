"""Result folders that are complete or absent: transactional writes, a lock, a completion marker.

Every command that writes a result folder (``analyze``, each ``batch`` and
``pseudo-label`` job, ``clip``, ``stats``) goes through :func:`result_dir`:

1. the output path is resolved (``.``, ``..``, symlinks) and checked: it must
   not be, contain or lie inside a source being read (:func:`check_output`);
2. a lock file next to the folder (``.<name>.lock``, an ``flock``) refuses a
   second concurrent writer with a clear message (:class:`ResultLockedError`);
3. an existing folder is replaced only when spermtrack wrote it (its marker is
   present) and, unless ``force``, only when it was made from the same source;
4. the new result is built in a hidden temporary sibling (``.<name>.part-*``);
   the completion marker :data:`MARKER` (``.spermtrack.json``) is written last,
   listing every file with its size and SHA-256;
5. the swap: ``<name> -> .<name>.old``, ``.<name>.part-* -> <name>``, remove
   the old. A crash between the two renames leaves ``.<name>.old`` and no
   ``<name>``; the next writer (or :func:`recover`) renames it back.

So at every instant ``<name>`` is either the complete old result, the complete
new one, or (only between the two renames) absent with the old one kept aside.
:func:`verify` checks a folder against its marker without spermtrack's help
being needed: the marker is plain JSON (docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import OutputError, ResultLockedError, SpermtrackError, SymlinkLoopError

#: Name of the completion marker inside a result folder.
MARKER = ".spermtrack.json"
#: Version of the marker's layout.
MARKER_FORMAT = 1
#: Bytes of a source file hashed for its fingerprint (the first MiB).
HASH_BYTES = 1 << 20
#: Most files listed when fingerprinting a source folder (beyond: counted, not listed).
MAX_LISTED = 200_000


# ---------------------------------------------------------------------------- paths
def resolve_path(path: str | os.PathLike) -> Path:
    """The absolute path with ``.``, ``..`` and symbolic links resolved; a loop raises :class:`SymlinkLoopError`.

    The path need not exist (its existing part is resolved).
    """
    p = Path(path).expanduser()
    try:
        return p.resolve(strict=False)
    except RuntimeError as exc:  # Python < 3.13: "Symlink loop from ..."
        raise SymlinkLoopError(f"{path}: symbolic link loop ({exc})") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SymlinkLoopError(f"{path}: symbolic link loop") from None
        raise SpermtrackError(f"{path}: cannot resolve the path ({exc.strerror or exc})") from None


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_output(out: str | os.PathLike, sources: Iterable[str | os.PathLike | None] = (), *, what: str = "output") -> Path:
    """Resolve ``out`` and refuse it when it is, contains or lies inside one of ``sources``.

    A source that is a VISEM video folder also protects the dataset folder holding
    it (a folder with a ``split.json`` or other video folders): an output there would
    later be read as one more video of the dataset. A source inside a VISEM video folder
    (its mp4, its ``images/``) protects that video folder and its dataset folder alike.

    Returns
    -------
    Path
        The resolved output path.

    Raises
    ------
    OutputError
        Naming the output and the source it would overwrite.
    """
    from .io.visem import is_video_folder

    target = resolve_path(out)
    for src in sources:
        if src is None:
            continue
        s = resolve_path(src)
        if _inside(target, s):
            where = "is" if target == s else "lies inside"
            raise OutputError(
                f"the {what} folder {out} {where} the source {src}: spermtrack never writes into its input; choose another --out"
            )
        if _inside(s, target):
            raise OutputError(
                f"the {what} folder {out} contains the source {src}: replacing it would delete the input; choose another --out"
            )
        if s.is_dir() and is_video_folder(s) and _inside(target, s.parent) and _is_dataset(s.parent, s):
            raise OutputError(
                f"the {what} folder {out} lies inside {s.parent}, the dataset folder of the VISEM video {src}, "
                f"where it would be read as one more video; choose an --out outside {s.parent}"
            )
        video = _enclosing_video(s)  # a source inside a VISEM video folder: its mp4, its images/
        if video is not None and _inside(target, video):
            raise OutputError(
                f"the {what} folder {out} lies inside {video}, the VISEM video folder of the source {src}: spermtrack "
                "never writes into its input; choose another --out"
            )
        if video is not None and _inside(target, video.parent) and _is_dataset(video.parent, video):
            raise OutputError(
                f"the {what} folder {out} lies inside {video.parent}, the dataset folder of the VISEM video holding "
                f"the source {src}, where it would be read as one more video; choose an --out outside {video.parent}"
            )
    return target


def _enclosing_video(source: Path) -> Path | None:
    """The VISEM video folder a source lies in (``<vid>/<vid>.mp4``, ``<vid>/images``, a file of them), or None."""
    from .io.visem import is_video_folder

    parent = source.parent
    if parent != source and is_video_folder(parent):
        return parent
    if parent.name in ("images", "labels", "labels_ftid") and is_video_folder(parent.parent):
        return parent.parent
    return None


def _is_dataset(folder: Path, video: Path, look: int = 200) -> bool:
    """True when ``folder`` looks like a VISEM dataset: a ``split.json``, or another video folder beside ``video``."""
    from .io.visem import is_video_folder

    if (folder / "split.json").is_file():
        return True
    try:
        with os.scandir(folder) as it:
            for k, entry in enumerate(it):
                if k >= look:
                    break
                if entry.name != video.name and not entry.name.startswith(".") and entry.is_dir():
                    if is_video_folder(Path(entry.path)):
                        return True
    except OSError:
        return False
    return False


# ---------------------------------------------------------------------------- fingerprints
def file_digest(path: Path, limit: int | None = None) -> str:
    """SHA-256 (hex) of a file, or of its first ``limit`` bytes."""
    h = hashlib.sha256()
    remaining = limit
    with open(path, "rb") as fh:
        while remaining is None or remaining > 0:
            chunk = fh.read(1 << 20 if remaining is None else min(1 << 20, remaining))
            if not chunk:
                break
            h.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return h.hexdigest()


def source_fingerprint(source: str | os.PathLike, missing_ok: bool = False) -> dict:
    """What identifies a source: resolved path, kind, size and a SHA-256 of its first MiB.

    A file: its size and the hash of its first :data:`HASH_BYTES` bytes. A folder
    (image folder, VISEM video folder or root): the total size of its files and
    the hash of its sorted listing (relative name and size of every file, hidden
    ones skipped) together with the first MiB of its first file. A source that no
    longer exists raises, or with ``missing_ok`` is recorded as ``kind: "missing"``.
    """
    p = resolve_path(source)
    if p.is_file():
        return {"path": str(p), "kind": "file", "size": p.stat().st_size, "sha256_first_mib": file_digest(p, HASH_BYTES)}
    if p.is_dir():
        h = hashlib.sha256()
        total = count = 0
        first: Path | None = None
        for dirpath, dirnames, filenames in os.walk(p, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                f = Path(dirpath) / name
                try:
                    size = f.stat().st_size
                except OSError:
                    continue
                total += size
                count += 1
                if count <= MAX_LISTED:
                    h.update(f"{f.relative_to(p).as_posix()}\t{size}\n".encode("utf-8", "surrogateescape"))
                if first is None:
                    first = f
        if first is not None:
            h.update(file_digest(first, HASH_BYTES).encode())
        return {"path": str(p), "kind": "folder", "size": total, "files": count, "sha256_first_mib": h.hexdigest()}
    if missing_ok:
        return {"path": str(p), "kind": "missing", "size": None, "sha256_first_mib": None}
    raise SpermtrackError(f"{source}: no such file or folder")


def _list_files(folder: Path) -> dict[str, dict]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            f = Path(dirpath) / name
            rel = f.relative_to(folder).as_posix()
            if rel == MARKER:
                continue
            out[rel] = {"size": f.stat().st_size, "sha256": file_digest(f)}
    return out


# ---------------------------------------------------------------------------- marker
def read_marker(folder: str | os.PathLike, name: str = MARKER) -> dict | None:
    """The completion marker of a result folder, or None when it has none (or an unreadable one).

    ``name``: the marker's file name (another name reads a marker set aside, e.g. ``simulate``'s
    while it adds videos to a root).
    """
    path = Path(folder) / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == MARKER_FORMAT else None


def _canonical(settings: Mapping[str, Any] | None) -> Any:
    from .jsonutil import to_jsonable

    return json.loads(json.dumps(to_jsonable(dict(settings or {})), sort_keys=True, allow_nan=True))


def _version() -> str:
    from ._version import __version__

    return __version__


def write_marker(folder: Path, kind: str, source: dict | None, settings: Mapping[str, Any] | None) -> dict:
    """List every file of ``folder`` and write :data:`MARKER` (atomically, last)."""
    from .atomic import atomic_open

    marker = {
        "format": MARKER_FORMAT,
        "kind": kind,
        "spermtrack_version": _version(),
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "source": source,
        "settings": _canonical(settings),
        "files": _list_files(folder),
    }
    with atomic_open(folder / MARKER) as fh:
        json.dump(marker, fh, indent=1, sort_keys=True)
        fh.write("\n")
    return marker


@dataclass
class Verification:
    """What :func:`verify` found.

    Attributes
    ----------
    folder : Path
    ok : bool
        The marker is present and every file it lists exists with its size and hash.
    problems : list of str
        Missing marker, missing or changed files, a malformed file list, or an empty one
        in a folder that holds files (each makes ``ok`` False).
    extra : list of str
        Files in the folder the marker does not list (added afterwards; not an error).
    marker : dict or None
    """

    folder: Path
    ok: bool
    problems: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    marker: dict | None = None


def verify(folder: str | os.PathLike, hashes: bool = True) -> Verification:
    """Check a result folder against its completion marker.

    With ``hashes`` False only sizes are compared (fast).
    """
    folder = Path(folder)
    if not folder.is_dir():
        if folder.exists():
            return Verification(folder, False, [f"{folder}: is a file, not a result folder (give the folder a run wrote)"])
        return Verification(folder, False, [f"{folder}: no such folder"])
    marker = read_marker(folder)
    if marker is None:
        what = "unreadable" if (folder / MARKER).exists() else "missing"
        return Verification(folder, False, [f"{folder}: completion marker {MARKER} {what}: not a complete spermtrack result"])
    problems: list[str] = []
    listed = marker.get("files")
    if not isinstance(listed, dict):
        problems.append(f"the file list of the marker is malformed ({type(listed).__name__}, not an object of files)")
        listed = {}
    for rel, info in listed.items():
        if not isinstance(info, dict) or not isinstance(info.get("size"), int) or not isinstance(info.get("sha256"), str):
            problems.append(f"{rel}: malformed entry in the marker's file list")
            continue
        f = folder / rel
        if not f.is_file():
            problems.append(f"{rel}: missing")
            continue
        size = f.stat().st_size
        if size != info.get("size"):
            problems.append(f"{rel}: {size} bytes, the marker says {info.get('size')}")
        elif hashes and file_digest(f) != info.get("sha256"):
            problems.append(f"{rel}: content differs from the marker (SHA-256)")
    extra = []
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(folder).as_posix()
            if rel != MARKER and rel not in listed:
                extra.append(rel)
    if extra and not listed and not problems:  # files present, none listed: the marker was damaged or emptied
        problems.append(f"the marker lists no files but the folder holds {len(extra)}: the marker is damaged")
    return Verification(folder, not problems, problems, sorted(extra), marker)


def up_to_date(folder: str | os.PathLike, source: str | os.PathLike | None, settings: Mapping[str, Any] | None) -> str | None:
    """None when ``folder`` is a complete result of ``source`` with ``settings``; else why not (one phrase)."""
    folder = Path(folder)
    if not folder.exists():
        return "no result yet"
    marker = read_marker(folder)
    if marker is None:
        return f"no completion marker ({MARKER}): an interrupted or foreign folder"
    if marker.get("spermtrack_version") != _version():
        return f"made by spermtrack {marker.get('spermtrack_version')}, this is {_version()}"
    if source is not None:
        why = _source_change(marker.get("source"), source_fingerprint(source))
        if why:
            return why
    if marker.get("settings") != _canonical(settings):
        return "the settings changed (" + _settings_diff(marker.get("settings") or {}, _canonical(settings)) + ")"
    check = verify(folder, hashes=False)
    if not check.ok:
        return "incomplete: " + "; ".join(check.problems[:3])
    return None


def _source_change(old: dict | None, new: dict) -> str | None:
    if not old:
        return "the marker names no source"
    if old.get("path") != new.get("path"):
        return f"made from another source ({old.get('path')})"
    if old.get("size") != new.get("size") or old.get("sha256_first_mib") != new.get("sha256_first_mib"):
        return "the source changed since (size or content)"
    return None


def _settings_diff(old: Mapping, new: Mapping, prefix: str = "") -> str:
    diffs = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, "<unset>"), new.get(key, "<unset>")
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            diffs.append(_settings_diff(a, b, f"{prefix}{key}."))
        else:
            diffs.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return ", ".join(d for d in diffs if d)[:300]


# ---------------------------------------------------------------------------- lock
@contextlib.contextmanager
def lock(final: Path) -> Iterator[Path]:
    """Hold ``.<name>.lock`` beside ``final`` (an exclusive ``flock``); a second writer gets :class:`ResultLockedError`.

    The lock is released when the process ends, however it ends, so a killed run
    leaves no stale lock.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    path = final.parent / f".{final.name}.lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: exclusive creation instead
        fcntl = None
    while True:
        if fcntl is None:  # pragma: no cover
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
            except FileExistsError:
                raise ResultLockedError(_locked_message(final, path)) from None
            break
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ResultLockedError(_locked_message(final, path)) from None
        try:  # the file may have been unlinked by the previous holder between our open and flock
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _locked_message(final: Path, path: Path) -> str:
    try:
        holder = path.read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        holder = []
    who = f" (process {holder[0]} on {holder[1]})" if len(holder) >= 2 else ""
    return (
        f"{final}: another spermtrack run is writing this folder{who}; wait for it to finish, "
        f"or choose another --out (lock file {path})"
    )


# ---------------------------------------------------------------------------- recovery and swap
def _old_path(final: Path) -> Path:
    return final.parent / f".{final.name}.old"


def recover(final: str | os.PathLike) -> str | None:
    """Repair what an interrupted swap or build left beside ``final``; call it holding the lock.

    - ``.<name>.old`` without ``<name>``: the crash fell between the two renames;
      the old result is put back.
    - ``.<name>.old`` beside ``<name>``: the new result is in place; the old is removed.
    - ``.<name>.part-*`` folders: unfinished builds; removed.

    Returns what was done (a phrase) or None.
    """
    final = Path(final)
    old = _old_path(final)
    done = []
    if old.exists():
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
            done.append(f"removed the replaced result {old.name}")
        else:
            os.replace(old, final)
            done.append(f"restored the previous result from {old.name} (a run was interrupted while swapping)")
    if final.parent.is_dir():
        for entry in final.parent.iterdir():
            if entry.name.startswith(f".{final.name}.part-") and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
                done.append(f"removed the unfinished {entry.name}")
    return "; ".join(done) or None


def _checkpoint(name: str) -> None:
    """Test hook: raise KeyboardInterrupt at the N-th checkpoint when ``SPERMTRACK_INTERRUPT_AT=N``.

    Used by the interrupt tests (tests/test_reliability.py) to stop a run at
    each step of a write; without the variable it does nothing.
    """
    at = os.environ.get("SPERMTRACK_INTERRUPT_AT")
    if not at:
        return
    global _CHECKPOINTS
    _CHECKPOINTS += 1
    if _CHECKPOINTS == int(at):
        raise KeyboardInterrupt(f"test interrupt at checkpoint {_CHECKPOINTS} ({name})")


_CHECKPOINTS = 0


def checkpoint(name: str) -> None:
    """Mark a point of a run where the interrupt tests may stop it (see :func:`_checkpoint`)."""
    _checkpoint(name)


def preflight(
    out: str | os.PathLike,
    source: str | os.PathLike | None = None,
    protect: Iterable[str | os.PathLike | None] = (),
    force: bool = False,
) -> Path:
    """Refuse, before any work, an output that :func:`result_dir` would refuse; returns the resolved folder.

    Checks the overlap with the sources, a folder not written by spermtrack, and
    (without ``force``) a result made from another source. Takes no lock.
    """
    final = check_output(out, [source, *protect])
    fingerprint = source_fingerprint(source) if source is not None else None
    _check_replaceable(out, final, fingerprint, force)
    return final


def _check_replaceable(out, final: Path, fingerprint: dict | None, force: bool) -> None:
    if final.exists() and not final.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; choose another --out")
    if not final.exists():
        return
    marker = read_marker(final)
    if marker is None and any(final.iterdir()):
        raise OutputError(
            f"{out}: the folder holds files but no {MARKER}, so spermtrack did not write it (or an old "
            "version did, or a run was interrupted); spermtrack replaces only its own results: choose a new "
            "or empty --out"
        )
    if marker is not None and fingerprint is not None and not force:
        old = marker.get("source") or {}
        if old.get("path") and old.get("path") != fingerprint["path"]:
            raise OutputError(
                f"{out}: holds the result of another source ({old.get('path')}); pass --force to replace it, "
                "or choose another --out"
            )


@dataclass
class Prepared:
    """What :func:`result_dir` found before building: the resolved folder and why it (re)builds."""

    final: Path
    reason: str | None = None
    recovered: str | None = None


@contextlib.contextmanager
def result_dir(
    out: str | os.PathLike,
    *,
    kind: str,
    source: str | os.PathLike | None = None,
    settings: Mapping[str, Any] | None = None,
    protect: Iterable[str | os.PathLike | None] = (),
    force: bool = False,
    info: Prepared | None = None,
    replaceable: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """Build a result folder transactionally; yields the temporary folder to write into.

    Parameters
    ----------
    out : path
        The result folder (created or replaced as a whole when the block succeeds).
    kind : str
        What the folder holds (``"analysis"``, ``"pseudo-label"``, ``"clips"``, ``"stats"``).
    source : path, optional
        The input the result is made from; fingerprinted into the marker and protected.
    settings : mapping
        Every setting of the run (JSON-able); recorded whole in the marker.
    protect : paths
        Further inputs the output must not overlap (e.g. a VISEM root being read).
    force : bool
        Replace a result made from another source.
    info : Prepared, optional
        Filled with the resolved folder and what was recovered.
    replaceable : callable, optional
        Called with the resolved folder under the lock, in place of the default test (an existing
        folder must carry spermtrack's marker and, unless ``force``, come from the same source):
        raises :class:`OutputError` to refuse replacing what is there (``simulate --overwrite``
        takes a dataset root whose marker is set aside while videos were added, and refuses one
        holding a file it did not write).

    Raises
    ------
    OutputError
        The folder overlaps a source, holds files but no marker (not written by
        spermtrack), is a file, or was made from another source (without ``force``).
    ResultLockedError
        Another process writes the same folder.
    """
    final = check_output(out, [source, *protect])
    fingerprint = source_fingerprint(source, missing_ok=True) if source is not None else None
    with lock(final):
        recovered = recover(final)
        if replaceable is None:
            _check_replaceable(out, final, fingerprint, force)
        else:
            replaceable(final)
        if info is not None:
            info.final, info.recovered = final, recovered
        checkpoint("lock taken")
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.part-", dir=final.parent))
        except OSError as exc:  # name the result folder, not the temporary one
            raise type(exc)(exc.errno, exc.strerror or str(exc), str(final)) from None
        from .atomic import _UMASK

        os.chmod(tmp, 0o777 & ~_UMASK)
        try:
            yield tmp
            checkpoint("outputs written")
            write_marker(tmp, kind, fingerprint, settings)
            checkpoint("marker written")
            _swap(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _swap(tmp: Path, final: Path) -> None:
    """Put ``tmp`` in place of ``final``: ``final -> .old``, ``tmp -> final``, remove ``.old``."""
    if final.exists():
        old = _old_path(final)
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
        try:
            checkpoint("old moved aside")
            os.replace(tmp, final)
        except BaseException:  # interrupted between the renames: put the old result back
            if not final.exists():
                os.replace(old, final)
            raise
        checkpoint("new in place")
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
        checkpoint("new in place")


def remove_result(folder: str | os.PathLike) -> bool:
    """Delete ``folder`` only when spermtrack wrote it (marker present); True when removed."""
    folder = Path(folder)
    if folder.is_dir() and read_marker(folder) is not None:
        shutil.rmtree(folder)
        return True
    return False


__all__ = [
    "MARKER",
    "OutputError",
    "Prepared",
    "preflight",
    "ResultLockedError",
    "SymlinkLoopError",
    "Verification",
    "check_output",
    "lock",
    "read_marker",
    "recover",
    "remove_result",
    "resolve_path",
    "result_dir",
    "source_fingerprint",
    "up_to_date",
    "verify",
    "write_marker",
]
