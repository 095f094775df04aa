"""Benchmark of the whole grid: a study (the default config.yaml, or a scaled copy of it) built
by the real workflow from empty results to its PDF in a scratch folder. It prints the wall time,
the sum of the runs' own training times (run.json's `train_seconds`), the training-only floor
(that sum over the cores used) and the ratio of the wall time to it, then where the rest of the
time goes: the stages (before the first job, packing the data, the training, what follows it)
and, per training job, its wall time against its training (Snakemake's log dates each job to
the second). Both figures of the ratio come from the same run, so the machine's speed cancels.

    .venv/bin/python benchmarks/bench_grid.py                       # the default study, 2 cores
    .venv/bin/python benchmarks/bench_grid.py --epochs 2 --seeds 0  # a scaled copy, a minute

A benchmark, not a test: it asserts nothing and `make test` does not run it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
RULE = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


def parse_jobs(log: str) -> list[dict]:
    """Each job of a Snakemake log: its rule, and when it started and finished (seconds since
    the epoch, to the second: the log's dates)."""
    jobs: dict[int, dict] = {}
    stamp, pending = None, None
    for line in log.splitlines():
        if m := STAMP.match(line):
            stamp = datetime.strptime(m[1], "%a %b %d %H:%M:%S %Y").timestamp()
        elif m := RULE.match(line):
            pending = {"rule": m[1], "start": stamp}
        elif (m := JOBID.match(line)) and pending is not None:
            jobs[int(m[1])], pending = pending, None
        elif (m := FINISHED.match(line)) and int(m[1]) in jobs:
            jobs[int(m[1])]["end"] = stamp
    return [j for j in jobs.values() if "end" in j]


def scaled_config(args) -> dict:
    """The study's config with the options' changes (fewer epochs, seeds or images)."""
    config = yaml.safe_load((ROOT / args.config).read_text(encoding="utf-8"))
    if args.epochs:
        config["epochs"] = args.epochs
    if args.seeds:
        config["seeds"] = [int(s) for s in args.seeds.split(",")]
    if args.max_train:
        config["max_train"] = args.max_train
    return config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="config.yaml", help="the study (default config.yaml)")
    p.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)),
                   help="snakemake --cores (default: this machine's CPUs)")
    p.add_argument("--epochs", type=int, help="epochs of every run (default: the config's)")
    p.add_argument("--seeds", help="seeds, e.g. 0 or 0,1 (default: the config's)")
    p.add_argument("--max-train", type=int, help="training images of every run")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("--out", default="benchmarks/results-grid.md", help="Markdown of the figures")
    args = p.parse_args()
    config = scaled_config(args)
    work = Path(tempfile.mkdtemp(prefix="bench-grid-"))
    shutil.copytree(ROOT / "report" / "sections", work / "report" / "sections")
    shutil.copy(ROOT / "report" / "refs.bib", work / "report" / "refs.bib")
    (work / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True,
                                                     sort_keys=False), encoding="utf-8")
    target = config.get("report", {}).get("pdf", "report/informe.pdf")
    command = [str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"),
               "-d", str(work), "--cores", str(args.cores), target,
               "--configfile", str(work / "config.yaml")]
    print(f"building {target} of {args.config} in {work} ({args.cores} cores) ...", flush=True)
    t0 = time.time()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.time() - t0
    if done.returncode != 0:
        sys.exit(f"the workflow failed:\n{(done.stdout + done.stderr)[-3000:]}")
    jobs = parse_jobs(done.stdout + done.stderr)
    runs = [json.loads(f.read_text()) for f in work.glob("results/*/runs/*/seed*/run.json")]
    train = sorted((j for j in jobs if j["rule"] == "train"), key=lambda j: j["start"])
    trained = sum(r["train_seconds"] for r in runs)
    floor = trained / args.cores
    first, last = train[0]["start"], max(j["end"] for j in train)
    packing = [j["end"] - j["start"] for j in jobs if j["rule"] == "prepare_data"]
    per_job = [j["end"] - j["start"] for j in train]
    inside = [r["job_seconds"] for r in runs]  # from the data loaded to the files written
    rows = [
        ("runs trained", f"{len(runs)}", ""),
        ("wall time, empty results to the PDF", f"{wall:.0f} s", ""),
        ("the runs' training time, summed", f"{trained:.0f} s", ""),
        (f"training-only floor (that sum / {args.cores} cores)", f"{floor:.0f} s", ""),
        ("**wall time / floor**", f"**{wall / floor:.2f}**", "the goal: at most 1.15"),
        ("before the first job (start-up, checks, DAG)", f"{jobs[0]['start'] - t0:.0f} s"
         if jobs else "", "to the second"),
        ("packing the data", f"{sum(packing):.0f} s", ""),
        ("first training job's start to the last one's end", f"{last - first:.0f} s",
         f"{(last - first) / floor:.2f} x the floor"),
        ("after the last training job (figures, tables, LaTeX)", f"{t0 + wall - last:.0f} s",
         ""),
        ("a training job's wall time (mean)", f"{statistics.mean(per_job):.1f} s",
         "its log's dates, to the second"),
        ("its training (mean of train_seconds)", f"{trained / len(runs):.1f} s", ""),
        ("its run_job after loading the data (mean of job_seconds)",
         f"{statistics.mean(inside):.1f} s", "training, evaluating, writing"),
        ("the rest of a job (mean): interpreter, imports, Snakemake's preamble, loading",
         f"{statistics.mean(per_job) - statistics.mean(inside):.1f} s",
         f"{len(runs)} times over"),
    ]
    text = "\n".join([
        f"# Grid benchmark: {args.config}",
        "",
        f"`python benchmarks/bench_grid.py {' '.join(sys.argv[1:])}`".replace(" `", "`"),
        f"({len(runs)} runs of {config['epochs']} epoch(s), seeds {config['seeds']}, "
        f"{args.cores} cores, {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')})",
        "",
        "| figure | value | note |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
    ])
    print("\n" + text)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"written to {args.out}")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
