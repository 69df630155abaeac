"""Write the reports of several run directories: ``python -m neuralab.reports.render``.

Drawing figures is most of a small lab's report time and runs on one core, so a lab's run
reports are written by a few of these processes side by side. A plain process (not a
``multiprocessing`` pool) imports only matplotlib, pandas and jinja2, never Keras, and does not
re-run the caller's ``__main__`` script.

Usage: ``python -m neuralab.reports.render --lang LANG RUN_DIR [RUN_DIR ...]``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from neuralab.errors import RunError


def write_run_reports(runs: Sequence[Path], *, lang: str, jobs: int) -> None:
    """Write each run's report, in ``jobs`` processes (round-robin), or here if ``jobs == 1``."""
    from neuralab.reports.html import write_run_report

    jobs = max(1, min(jobs, len(runs)))
    if jobs == 1:
        for run in runs:
            write_run_report(run, lang=lang)
        return
    groups = [runs[i::jobs] for i in range(jobs)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "neuralab.reports.render", "--lang", lang, *map(str, group)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for group in groups
    ]
    failures = []
    try:
        for proc, group in zip(procs, groups, strict=True):
            _, err = proc.communicate()
            if proc.returncode != 0:
                named = [
                    line for line in err.splitlines() if line.startswith(tuple(map(str, group)))
                ]
                failures += named or [f"{', '.join(map(str, group))}: {err.strip()[-500:]}"]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if failures:
        raise RunError("could not write these reports:\n" + "\n".join(failures))


def main(argv: Sequence[str]) -> int:
    from neuralab.reports.html import write_run_report

    args = list(argv)
    lang = "en"
    if args[:1] == ["--lang"]:
        lang, args = args[1], args[2:]
    status = 0
    for run in args:
        try:
            write_run_report(Path(run), lang=lang)
        except Exception as exc:  # reported to the parent, which names the run
            print(f"{run}: {type(exc).__name__}: {exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
