"""The output policy: every path a command writes is declared up front and checked together, before any data
is loaded or any net trained (RELIABILITY.md, "The output policy").

- A file output may be absent, or a regular file that kerascmp wrote (each output says how to recognise
  one); `-` is standard output where the command offers it. A symlink, FIFO, device or directory is refused.
- No output is one of the command's inputs, a model (a SavedModel directory, .keras, .onnx, .tflite) or a
  path inside an export: this command's own exports included.
- A directory output (a study, a search project, TensorBoard logs) is written in place: it may not be a file.
- An export directory may be replaced only when every file in it is in the manifest its export wrote.
- Every output is proven writable by really creating a file beside it: `os.access` is true for root.

Temporary files are named `.<name>.kerascmp-<pid>-...` (`staging_prefix`), so that the next command to write
there removes those a killed process left (`remove_stale_staging`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kerascmp.errors import UsageError
from kerascmp.names import EXPORT_MANIFEST_KEY, EXPORT_METADATA_FILE

FILE, DIRECTORY, EXPORT, MODEL = "file", "directory", "export", "model"
STDOUT = "-"
MODEL_SUFFIXES = (".keras", ".onnx", ".tflite")
SAVED_MODEL_FILE = "saved_model.pb"
_STAGING = re.compile(r"\..+\.kerascmp-(\d+)-")


@dataclass(frozen=True)
class Output:
    """A path a command writes. `kind`: FILE (replaced whole), MODEL (a conversion, which `ours` must
    recognise), DIRECTORY (written into) or EXPORT (a SavedModel directory, replaced by its manifest).
    `ours(path)` says whether an existing file is one kerascmp wrote of this kind (`what`)."""

    flag: str
    path: str | os.PathLike
    kind: str = FILE
    ours: Callable[[Path], bool] | None = None
    what: str = "a file"
    stdout: bool = False  # `-` writes to standard output


@dataclass(frozen=True)
class Input:
    """A path a command reads; no output may be it, or lie inside it, unless it `holds_outputs`."""

    flag: str
    path: str | os.PathLike | None
    holds_outputs: bool = False


@dataclass
class _Checked:
    created: list[Path] = field(default_factory=list)  # directories made for the check, removed on refusal


def check(outputs: list[Output], inputs: list[Input] = ()) -> None:
    """Refuse, as one UsageError naming the flag, any output the policy forbids; create the directories
    the outputs need and prove each writable. Nothing is created when any output is refused."""
    outputs = [o for o in outputs if o.path is not None]
    inputs = [i for i in inputs if i.path is not None]
    exports = [Path(o.path) for o in outputs if o.kind == EXPORT]
    for output in outputs:
        if output.stdout and str(output.path) == STDOUT:
            continue
        path = Path(output.path)
        _refuse_special(output, path)
        _refuse_inputs(output, path, inputs)
        _refuse_models_and_exports(output, path, exports)
        if output.kind == EXPORT:
            refuse_foreign_export_files(path, output.flag)
        elif output.kind in (FILE, MODEL) and path.exists() and output.ours and not output.ours(path):
            raise UsageError(
                f"{output.flag} {path} exists and is not {output.what} that kerascmp wrote; nothing was "
                "touched: move it, or give another path"
            )
    checked = _Checked()
    try:
        for output in outputs:
            if not (output.stdout and str(output.path) == STDOUT):
                _prove_writable(output, Path(output.path), checked)
    except UsageError:
        for directory in reversed(checked.created):
            directory.rmdir()
        raise


def _kind_of(path: Path) -> str | None:
    """What is at `path` when it is no regular file or directory (a symlink is not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


def _refuse_special(output: Output, path: Path) -> None:
    special = _kind_of(path)
    if output.kind == DIRECTORY:
        if path.is_dir():  # a directory, or a link to one, is written in place
            return
        if special or path.exists():
            raise UsageError(f"{output.flag} {path} is {special or 'a file'}, not a directory")
        return
    if special:
        stdout = ", or - for standard output" if output.stdout else ""
        raise UsageError(
            f"{output.flag} {path} is {special}; kerascmp writes only regular files it may replace: give "
            f"another path{stdout}"
        )
    if path.is_dir() and output.kind != EXPORT:
        raise UsageError(f"{output.flag} {path} is a directory; give a file path")
    if output.kind == EXPORT and path.exists() and not path.is_dir():
        raise UsageError(
            f"{path} exists and is not an export directory; move it, or use another {output.flag}"
        )


def _refuse_inputs(output: Output, path: Path, inputs: list[Input]) -> None:
    resolved = path.resolve()
    for given in (i for i in inputs if not i.holds_outputs):
        source = Path(given.path)
        what = "directory" if source.is_dir() else "file"
        if resolved == source.resolve() or (path.exists() and source.exists() and path.samefile(source)):
            raise UsageError(f"{output.flag} {path} is the {given.flag} {what} {source}; give another path")
        if source.is_dir() and resolved.is_relative_to(source.resolve()):
            raise UsageError(f"{output.flag} {path} is inside the {given.flag} {source}; write it elsewhere")


def export_holding(path: Path) -> Path | None:
    """The export directory `path` is or lies inside (one holding a saved_model.pb or kerascmp.json)."""
    for directory in (path, *path.parents):
        if (directory / SAVED_MODEL_FILE).is_file() or (directory / EXPORT_METADATA_FILE).is_file():
            return directory
    return None


def _refuse_models_and_exports(output: Output, path: Path, exports: list[Path]) -> None:
    resolved = path.resolve()
    if output.kind != MODEL and (path.suffix in MODEL_SUFFIXES or path.name == SAVED_MODEL_FILE):
        raise UsageError(
            f"{output.flag} {path} is a model's name ({path.suffix or path.name}); kerascmp writes models "
            "only as exports: give another name"
        )
    for export in exports:
        if resolved != export.resolve() and resolved.is_relative_to(export.resolve()):
            raise UsageError(f"{output.flag} {path} is inside the export {export}/ this command writes")
    holder = export_holding(resolved if output.kind != EXPORT else resolved.parent)
    if holder is not None:
        where = "is the export" if holder == resolved else "is inside the export"
        raise UsageError(f"{output.flag} {path} {where} {holder}/; write it elsewhere")


def manifest_of(directory: Path) -> list[str] | None:
    """The files an export wrote (its kerascmp.json's manifest), or None where it records none."""
    try:
        metadata = json.loads((directory / EXPORT_METADATA_FILE).read_text())
    except (OSError, ValueError):
        return None
    files = metadata.get(EXPORT_MANIFEST_KEY) if isinstance(metadata, dict) else None
    return files if isinstance(files, list) and all(isinstance(f, str) for f in files) else None


def files_under(directory: Path) -> list[str]:
    """Every file and link under `directory`, relative to it, sorted (an export's manifest)."""
    return sorted(
        str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_symlink() or not p.is_dir()
    )


def refuse_foreign_export_files(directory: Path, flag: str) -> None:
    """An export may replace `directory` only when all it holds is what an export wrote (its manifest)."""
    if not directory.is_dir() or not any(directory.iterdir()):
        return
    manifest = manifest_of(directory)
    if manifest is None:
        raise UsageError(
            f"{directory}/ holds files that no kerascmp export wrote (no {EXPORT_METADATA_FILE} with a file "
            f"manifest); nothing was touched: move them, or use another {flag}"
        )
    foreign = sorted(set(files_under(directory)) - set(manifest))
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise UsageError(
            f"{directory}/ holds {shown}, which its export did not write; nothing was touched: move "
            f"{'them' if len(foreign) > 1 else 'it'}, or use another {flag}"
        )


def _prove_writable(output: Output, path: Path, checked: _Checked) -> None:
    directory = path if output.kind == DIRECTORY else path.parent
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    try:
        for made in reversed(missing):
            made.mkdir()
            checked.created.append(made)
        with tempfile.TemporaryFile(dir=directory, prefix=staging_prefix(path)):
            pass
    except OSError as err:
        raise UsageError(f"{output.flag} {path} is not writable ({err.strerror})") from None
    remove_stale_staging(directory)


def staging_prefix(path: str | os.PathLike) -> str:
    """The name prefix of a temporary file or directory beside `path`: its pid marks whose it is."""
    return f".{Path(path).name}.kerascmp-{os.getpid()}-"


def remove_stale_staging(directory: Path) -> list[str]:
    """Remove the temporary files and directories a killed kerascmp process left in `directory`."""
    removed = []
    for entry in directory.glob(".*.kerascmp-*"):
        match = _STAGING.match(entry.name)
        if match and not _alive(int(match.group(1))):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
