"""Atomic outputs: every file or folder sepgan writes appears whole under its real name, or not at all.

:func:`atomic_output` (and :class:`AtomicOutput`, for writers that open in one
call and close in another) hands out a temporary name in the output's own
folder, so the final ``os.replace`` is a rename on one file system, never a
copy. On success the data is flushed to disk (``fsync`` of the file, or of every
file of a folder, then of the parent folder), and renamed onto the real name; on
any exception, Ctrl-C included, the temporary is removed.

Temporary names are ``.{name}.sepgan-tmp-{pid}-{random}{suffix}``: hidden, they
keep the output's suffix (PyAV and Matplotlib pick the format from it), and
they carry the writer's process id. An output name longer than
:data:`LONG_NAME_BYTES` is replaced in them by a hash of it, so an output name
near the file system's limit (255 bytes on most) still has a temporary name. A
process killed by SIGKILL or stopped by SIGQUIT (or a power cut) cannot clean
up: what it leaves is hidden and never carries the output's name, so it is
never taken for a result, and every later write to the same output first
removes the temporaries of that name whose process is gone. A recycled pid
keeps a stale temporary until that process ends too: a leftover, never a lost
output.

Every command follows one overwrite rule, ffmpeg's: an output that exists (a
file, or a folder with anything in it) is refused unless the user passed
``-y``/``--overwrite`` (:func:`check_overwrite`, :class:`OutputExistsError`).
An empty folder is no output yet: it is written into.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from sepgan.errors import UserError

__all__ = [
    "LONG_NAME_BYTES",
    "AtomicOutput",
    "OutputExistsError",
    "atomic_output",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_overwrite",
    "ordinary_file_mode",
    "output_exists",
    "remove_stale_temporaries",
]

_MARK = ".sepgan-tmp-"
# An output name longer than this (in bytes) is hashed in its temporary name: the mark, the pid, the
# random part and the suffix add about 40 bytes, and most file systems allow 255 bytes per name.
LONG_NAME_BYTES = 160


def _temporary_prefix(path: Path) -> str:
    """``.{name}.sepgan-tmp-``, or ``.{sha1 of the name, 16 hex digits}.sepgan-tmp-`` for a long name."""
    name = path.name
    if len(os.fsencode(name)) > LONG_NAME_BYTES:
        name = hashlib.sha1(os.fsencode(name)).hexdigest()[:16]
    return f".{name}{_MARK}"


class OutputExistsError(UserError, FileExistsError):
    """An output exists and the user did not ask to replace it (``-y``/``--overwrite``)."""


def output_exists(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds an output: a file (or link), or a folder with anything in it."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        return any(path.iterdir())
    return path.exists() or path.is_symlink()


def check_overwrite(path: str | os.PathLike[str], overwrite: bool, *, parameter: str = "overwrite") -> None:
    """ffmpeg's rule for every output: :class:`OutputExistsError` if ``path`` exists (:func:`output_exists`)
    and ``overwrite`` is false; the error names ``parameter``, the option that allows it."""
    if not overwrite and output_exists(path):
        raise OutputExistsError(
            "{path} already exists; use {parameter} to replace it", parameter=parameter, path=Path(path)
        )


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries of ``path`` left by processes that no longer run; return them."""
    path = Path(path)
    prefix = _temporary_prefix(path)
    pattern = re.compile(rf"{re.escape(prefix)}(\d+)-")
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:  # a missing or unreadable folder: the write itself reports it
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if match and int(match.group(1)) != os.getpid() and not _process_alive(int(match.group(1))):
            _remove(entry)
            removed.append(entry)
    return removed


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class AtomicOutput:
    """A temporary name for ``path``; :meth:`commit` renames it onto ``path``, :meth:`discard` removes it.

    ``folder=True`` creates the temporary as an empty folder (for outputs that are
    folders); it replaces an empty folder at ``path``, and a non-empty one only
    with ``replace=True`` (the old one is renamed aside first and removed after).
    """

    def __init__(self, path: str | os.PathLike[str], *, folder: bool = False, replace: bool = False) -> None:
        self.path = Path(path)
        self.folder = folder
        self.replace = replace
        remove_stale_temporaries(self.path)
        suffix = "" if folder else self.path.suffix[:16]  # the format's suffix; a long one is no format
        self.temporary = (
            self.path.parent / f"{_temporary_prefix(self.path)}{os.getpid()}-{secrets.token_hex(4)}{suffix}"
        )
        if folder:
            self.temporary.mkdir()

    def commit(self) -> Path:
        """Flush the temporary to disk and rename it onto ``path``; on failure it is removed."""
        try:
            if self.folder:
                for root, _, files in os.walk(self.temporary):
                    for name in files:
                        _fsync(Path(root) / name)
                _fsync(self.temporary)
                self._make_room()
            else:
                _fsync(self.temporary)
            os.replace(self.temporary, self.path)
            with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
                _fsync(self.path.parent)
        except BaseException:
            self.discard()
            raise
        return self.path

    def _make_room(self) -> None:
        """A folder cannot be renamed onto a non-empty one: clear the name first."""
        if not self.path.is_dir():
            return
        if not any(self.path.iterdir()):
            self.path.rmdir()
        elif self.replace:
            retired = self.temporary.with_name(self.temporary.name + "-old")
            os.replace(self.path, retired)
            shutil.rmtree(retired, ignore_errors=True)

    def discard(self) -> None:
        _remove(self.temporary)


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike[str], *, folder: bool = False, replace: bool = False
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block ends without error.

    The caller writes the file (or, with ``folder=True``, fills the folder) at
    the yielded path. Any exception removes it and leaves ``path`` untouched.
    """
    output = AtomicOutput(path, folder=folder, replace=replace)
    try:
        yield output.temporary
    except BaseException:
        output.discard()
        raise
    output.commit()


def ordinary_file_mode() -> int:
    """The mode a plain ``open()`` gives a new file: 0o666 less the process's umask (0o644 under 022)."""
    try:  # Linux says it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere it is read by setting it, and set back at once
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], object]) -> None:
    """Call ``write(temporary_path)`` and move the result onto ``path`` in one rename.

    The file gets ordinary permissions (:func:`ordinary_file_mode`) whatever mode ``write`` gave it:
    safetensors' ``save_file`` makes its files 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary:
        write(str(temporary))
        os.chmod(temporary, ordinary_file_mode())


def atomic_write_bytes(path: str | os.PathLike[str], payload: bytes) -> None:
    atomic_write(path, lambda temporary: Path(temporary).write_bytes(payload))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write(path, lambda temporary: Path(temporary).write_text(text))
