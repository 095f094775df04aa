"""Files the workflow wrote, checked before any job: a damaged one is named with the command
that rebuilds it, before a job that reads it fails (and Snakemake deletes finished results)."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shlex
import socket
import sys
import threading
import time
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from nnreport.base.errors import ExpectedError
from nnreport.base.io import atomic_path, seal_problem

_ZIPS = (".npz", ".pt")  # NumPy archives and torch.save files are zip files


class DamagedFileError(ExpectedError, RuntimeError):
    """A file the workflow wrote cannot be read; the message names it and how to rebuild it."""

    def __init__(self, path: str | Path, error: Exception) -> None:
        super().__init__(f"{path}: damaged, cannot be read ({type(error).__name__}: {error}); "
                         f"rebuild it with `{rebuild_command([str(path)], [])}` (with the "
                         f"study's --configfile, if any), then run the workflow again")


def damage(path: str | Path) -> str | None:
    """Return why the file at `path` cannot be read, or None if it reads (or is absent).

    A Parquet footer, a zip's central directory, a JSON document (a truncated or overwritten
    file fails these), then the SHA-256 its writer sealed it with (damage inside a file that
    still parses: a bit flipped in a model's weights).
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.read_metadata(path)
        elif path.suffix in _ZIPS:
            with zipfile.ZipFile(path) as z:
                z.infolist()
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    except Exception as e:  # what each reader raises on a damaged file varies
        return f"{type(e).__name__}: {e}".rstrip(": ")
    return seal_problem(path)


class ChangedFileError(ValueError):
    """A file whose content is not the one its writer sealed (what `seal_problem` says)."""


def verified(path: str | Path) -> Path:
    """Return `path` after checking its content against its seal; DamagedFileError names it
    and the command that rebuilds it when they differ."""
    problem = seal_problem(path)
    if problem:
        raise DamagedFileError(path, ChangedFileError(problem))
    return Path(path)


def damaged_files(paths: Iterable[str | Path]) -> dict[str, str]:
    """Return {path: why} for each damaged file among `paths`."""
    found = {str(p): damage(p) for p in paths}
    return {p: why for p, why in found.items() if why}


def rebuild_command(targets: Sequence[str], configfiles: Sequence[str]) -> str:
    """The shell command that deletes the damaged `targets` and makes them again, for the
    study of `configfiles` (a damaged file is no loss, and once it is gone the check that
    stopped the workflow passes)."""
    make = ["snakemake", "--cores", "1", *targets]
    if configfiles:
        make += ["--configfile", *configfiles]
    return f"{shlex.join(['rm', '-f', '--', *targets])} && {shlex.join(make)}"


def damage_message(damaged: dict[str, str], configfiles: Sequence[str]) -> str:
    """One message naming every damaged file, why, and the one command that rebuilds them."""
    lines = [f"{path}: damaged, cannot be read ({why})" for path, why in damaged.items()]
    command = rebuild_command(list(damaged), configfiles)
    them = "it" if len(damaged) == 1 else "them"
    return "\n".join(lines + [
        f"Nothing was run and no finished result was touched. Rebuild {them} with `{command}` "
        f"(only the jobs that write {them} run again), then run the workflow as before."])


# The workflow running in this folder now: Snakemake's own lock says only that one ran, and
# --unlock removes it whether that one died or still runs.
RUNNING = Path(".snakemake") / "nnreport" / "running.json"
# A workflow on another machine (a cluster's other login node, over a shared folder) cannot be
# asked by pid: it rewrites its record every HEARTBEAT seconds, and a record that many times
# older than that (the other machine died, or its workflow was killed with -9) is ignored.
HEARTBEAT, MISSED_BEATS = 30.0, 3
_beating: dict[str, threading.Event] = {}  # record path -> the event that stops its heartbeat
_beat_lock = threading.Lock()  # a beat is never written after the record's removal


def _alive(pid: int) -> bool:
    """Whether process `pid` of this machine is a Snakemake that still runs (not one whose
    pid a new process took after it died)."""
    proc = Path("/proc") / str(pid) / "cmdline"
    if Path("/proc/self").is_dir():
        try:
            return b"snakemake" in proc.read_bytes()
        except OSError:
            return False
    try:  # no /proc (macOS): the pid alone
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def running_workflow(path: str | Path = RUNNING) -> dict | None:
    """Return the record of another Snakemake workflow running in this folder now (its pid,
    host, start and command), or None: none recorded, it ended, it died (kill -9 leaves its
    record behind). On this machine its pid says whether it runs; on another its heartbeat
    (`beat`, rewritten every HEARTBEAT seconds) does: older than MISSED_BEATS of them, or
    none, it counts as ended."""
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
        pid = int(info["pid"])
        if info.get("host") != socket.gethostname():
            age = time.time() - float(info["beat"])
            return info if age < MISSED_BEATS * float(info.get("every", HEARTBEAT)) else None
    except (OSError, ValueError, KeyError, TypeError):  # none, damaged, or no heartbeat
        return None
    if pid == os.getpid() or not _alive(pid):
        return None
    return info


def mark_running(path: str | Path = RUNNING, every: float = HEARTBEAT) -> None:
    """Record this process as the workflow running in this folder until it exits (the record
    is removed then; one left by a process killed with -9 names a dead pid), and rewrite its
    heartbeat every `every` seconds from a daemon thread, for a workflow started on another
    machine to see (the thread stops when the record is removed, or is another's)."""
    record = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": " ".join(["snakemake", *sys.argv[1:]]), "every": every}
    if not _write_beat(path, record):
        return  # a read-only .snakemake/: Snakemake's own lock still guards the folder
    stop = _beating[str(path)] = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            with _beat_lock:
                if stop.is_set() or not _mine(path) or not _write_beat(path, record):
                    return

    threading.Thread(target=beat, name="nnreport-heartbeat", daemon=True).start()
    atexit.register(unmark_running, path)


def _write_beat(path: str | Path, record: dict) -> bool:
    try:
        with atomic_path(path, seal=False) as tmp:
            tmp.write_text(json.dumps({**record, "beat": time.time()}), encoding="utf-8")
    except OSError:
        return False
    return True


def _mine(path: str | Path) -> bool:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")).get("pid") == os.getpid()
    except (OSError, ValueError, AttributeError):
        return False


def unmark_running(path: str | Path = RUNNING) -> None:
    """Remove this process's record of running in this folder (another's stays), and stop
    its heartbeat."""
    with _beat_lock:
        stop = _beating.pop(str(path), None)
        if stop is not None:
            stop.set()
        if _mine(path):
            with contextlib.suppress(OSError):
                Path(path).unlink()


def running_message(info: dict) -> str:
    """Why a second workflow in a folder where one runs is refused, and what to do."""
    where = "" if info.get("host") in (None, socket.gethostname()) else f" on {info['host']}"
    return (f"another workflow is running in this folder: pid {info['pid']}{where}, started "
            f"{info.get('started', '?')} (`{info.get('command', 'snakemake')}`). Two at once "
            f"write the same files, and each fails on what the other half-wrote. Let it finish "
            f"(or stop it: kill {info['pid']}{where}), then run this command again; --unlock "
            f"removes only the lock of a workflow that died. Nothing was run.")


def packed_params(path: str | Path) -> dict | None:
    """The dataset config a packed data file was built from (None if unknown or unreadable)."""
    try:
        with np.load(path) as z:
            return json.loads(str(z["params"])) if "params" in z.files else None
    except Exception:  # absent or damaged: `damage` names it
        return None


def built_runs(runs_table: str | Path) -> set[tuple[str, int]] | None:
    """The (variant, seed) of every run a study's results table lists (None if absent)."""
    if not Path(runs_table).is_file():
        return None
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(runs_table, columns=["variant", "seed"]).to_pydict()
    except Exception:  # damaged: `damage` names it
        return None
    return {(str(v), int(s)) for v, s in zip(table["variant"], table["seed"], strict=True)}


def deleted_files(run_files: dict[tuple[str, int], list[str]], runs_table: str, report: str,
                  data_file: str, report_inputs: Sequence[str]) -> list[str]:
    """Return the files that an earlier invocation built and that are gone (deleted by hand),
    which Snakemake leaves missing while what was built from them is present.

    A run counts as built when the study's results table (`runs_table`) lists it, or, with
    that table gone too, when the study's report was built (`report`): then every declared
    run (`run_files`: its files by (variant, seed)) was. The packed data counts as built when
    any run does; the report's other inputs (`report_inputs`: a model study's selections and
    final evaluations) when the report was. A run declared since, never built, is not listed:
    a target of one experiment still builds only that one.
    """
    listed, report_built = built_runs(runs_table), Path(report).is_file()
    runs = ({r for r in run_files if r in listed} if listed is not None
            else set(run_files) if report_built else set())
    gone = [f for r in run_files if r in runs for f in run_files[r] if not Path(f).exists()]
    if runs and not Path(data_file).exists():
        gone.insert(0, data_file)
    if report_built:
        gone += [f for f in report_inputs if not Path(f).exists() and f not in gone]
    return gone


def stale_runs(runs: dict[tuple[str, int], tuple[str, str]], device: str = "auto",
               tf32: bool = False) -> list[tuple[str, int]]:
    """Return the runs whose run.json records another config hash than the current one
    (`runs`: (variant, seed) -> (its run.json, the hash the config now gives)), or a run that
    trained on another device than `device: cpu` or `cuda` asks for, or on a GPU with TF32
    matrix products other than `tf32` says (`auto` takes a run wherever it trained; TF32 does
    not touch a run trained on the CPU). A run not yet trained, or whose run.json is unreadable
    (`damage` names it), is not listed."""
    stale = []
    for key, (path, current) in runs.items():
        try:
            recorded = json.loads(Path(path).read_text(encoding="utf-8"))
            trained_on = recorded.get("device_type")
            changed = (recorded.get("hash") != current
                       or device in ("cpu", "cuda") and trained_on != device
                       or trained_on == "cuda" and bool(recorded.get("tf32")) != tf32)
        except (OSError, ValueError, AttributeError):
            continue
        if changed:
            stale.append(key)
    return stale
