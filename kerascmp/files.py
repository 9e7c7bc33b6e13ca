"""Files that users can trust: atomic writes, durable appends, directory locks and claims.

Every result kerascmp writes goes through here: a reader never sees half a file, a kill loses at most the
line being appended, and two processes never write one study. Which paths a command may write is
kerascmp.outputs' policy.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kerascmp.errors import UsageError
from kerascmp.outputs import staging_prefix


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Give a finished temporary file the mode a plain `open` would (mkstemp makes 0600), and rename it
    over `path` in one step."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write through a temporary file and rename, so readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=staging_prefix(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_json_line(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line, flushed to disk before returning: a kill loses at most the line it writes."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def code_version() -> dict:
    """The commit the code runs at, and whether tracked files differ from it; taken when a command starts,
    before its own outputs change anything."""
    import subprocess

    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        ).stdout

    try:
        return {
            "commit": git("rev-parse", "HEAD").strip() or None,
            "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no").strip()),
        }
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "uncommitted_changes": None}


def tracked_by_git(path: Path) -> bool:
    """Whether `path` is a file committed to the git repository it lies in (published results)."""
    import subprocess

    path = Path(path)
    if not path.is_file():
        return False
    try:
        return (
            subprocess.run(
                ["git", "-C", str(path.parent), "ls-files", "--error-unmatch", path.name],
                capture_output=True,
                timeout=10,
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


@dataclass(frozen=True)
class CommandRecord:
    """One command as it started: what was run, when, at which code version; appended to a results
    directory's commands.jsonl with its wall time when it ends."""

    FILE_NAME = "commands.jsonl"

    module: str
    argv: tuple[str, ...]
    started: float
    version: dict

    @classmethod
    def start(cls, module: str, argv: list[str]) -> CommandRecord:
        return cls(module, tuple(argv), time.perf_counter(), code_version())

    def append_to(self, directory: Path) -> None:
        append_json_line(
            directory / self.FILE_NAME,
            {
                "command": shlex.join(["python", "-m", self.module, *self.argv]),
                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                "wall_s": round(time.perf_counter() - self.started, 1),
                **self.version,
            },
        )


def atomic_write_json(path: str | os.PathLike, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def differences(stored: dict, wanted: dict) -> str:
    """ "key stored -> wanted" for each key of `wanted` whose stored value differs ("" when none)."""
    return ", ".join(f"{k} {stored.get(k)} -> {v}" for k, v in wanted.items() if stored.get(k) != v)


def claim_directory(settings_file: Path, settings: dict, what: str, remedy: str) -> None:
    """A directory holds one study or search: record its settings, or refuse to mix in other ones."""
    if settings_file.exists():
        try:
            stored = json.loads(settings_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UsageError(f"{settings_file} is damaged (not JSON); {remedy}") from None
        if stored != settings:
            changed = differences(stored, settings)
            raise UsageError(
                f"{settings_file.parent} holds a {what} with other settings ({changed}); {remedy}"
            )
    else:
        atomic_write_json(settings_file, settings)


def discard_outputs(directory: Path, marker: str, owned: tuple[str, ...], what: str, flag: str) -> list[str]:
    """`--overwrite`: remove what a `what` wrote in `directory`, and nothing else.

    Only a directory that holds the `what`'s marker file is touched, and in it only the names matching the
    `owned` globs. A directory without the marker that holds anything (but kerascmp's lock or empty folders)
    is refused, untouched. Returns the names left in place.
    """
    directory = Path(directory)
    entries = [e for e in directory.iterdir() if e.name != DirectoryLock.FILE_NAME]
    if not (directory / marker).is_file():
        foreign = [e.name for e in entries if not (e.is_dir() and not any(e.iterdir()))]
        if foreign:
            raise UsageError(
                f"{flag} {directory} holds no {marker}, so it is not a {what} directory; --overwrite "
                f"deletes only what a {what} wrote, and nothing was touched (it holds {_few(foreign)})"
            )
        return []
    kept = []
    for entry in entries:
        if not any(entry.match(pattern) for pattern in owned):
            kept.append(entry.name)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return sorted(kept)


def _few(names: list[str], shown: int = 3) -> str:
    names = sorted(names)
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def atomic_save_figure(fig, path: str | os.PathLike) -> None:
    """Save a matplotlib figure as PNG through a unique temporary file (several writers may race)."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=staging_prefix(path), suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        publish(tmp, path)
    finally:
        plt.close(fig)
        Path(tmp).unlink(missing_ok=True)


class DirectoryLock:
    """An exclusive lock on a directory for the life of this object's process: a second process is refused.

    The kernel drops an flock when its process dies, however it dies, so a killed run never leaves a stale
    lock behind; the pid inside the lock file only helps the message.
    """

    FILE_NAME = ".kerascmp.lock"

    def __init__(self, directory: Path, what: str, flag: str):
        self.path = Path(directory) / self.FILE_NAME
        self._file = open(self.path, "a+")  # held open for the life of the lock
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            raise UsageError(
                f"{directory} is in use by another {what} ({holder}); wait for it to finish, "
                f"or use another {flag}"
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"pid {os.getpid()}")
        self._file.flush()

    def fileno(self) -> int:
        """The locked file: a child process that inherits it holds the lock until it exits too."""
        return self._file.fileno()

    def release(self) -> None:
        if not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
