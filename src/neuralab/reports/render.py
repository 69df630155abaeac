"""Write the reports of several run directories: ``python -m neuralab.reports.render``.

Drawing figures is most of a small lab's report time and runs on one core, so a lab's run
reports are written by a few of these processes side by side, or by one in the background
while the lab trains its next model (:class:`ReportWorker`). A plain process (not a
``multiprocessing`` pool) imports only matplotlib, pandas and jinja2, never Keras, and does not
re-run the caller's ``__main__`` script.

Usage: ``python -m neuralab.reports.render --lang LANG RUN_DIR [RUN_DIR ...]``, or
``--lang LANG --stdin`` to read run folders (one JSON string a line) until end of input.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import IO, Any

from neuralab.errors import RunError
from neuralab.fileio import atomic_write_text
from neuralab.record import LabDir, LabRecord, RunDir, files

logger = logging.getLogger(__name__)


def write_run_reports(
    runs: Sequence[Path], *, lang: str, jobs: int, light: Collection[Path] = ()
) -> None:
    """Write each run's report, in ``jobs`` processes (round-robin), or here if ``jobs == 1``;
    the runs in ``light`` get their numbers only (a lab's other seeds)."""
    from neuralab.reports.html import write_run_report

    jobs = max(1, min(jobs, len(runs)))
    lights = {Path(p) for p in light}
    if jobs == 1:
        for run in runs:
            write_run_report(run, lang=lang, light=Path(run) in lights)
        return
    groups = [runs[i::jobs] for i in range(jobs)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "neuralab.reports.render",
                "--lang",
                lang,
                *(f"{_LIGHT}{run}" if Path(run) in lights else str(run) for run in group),
            ],
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


_WRITTEN = "written "
# A run given to the worker with this prefix gets a light report (numbers only).
_LIGHT = "light:"
# An experiment's seeds (JSON: lab folder, name, run folders): their mean curves' figure.
_SEEDS = "seeds:"


class ReportWorker:
    """Writes run reports in one background process while the caller goes on.

    A lab submits each run as soon as it has finished, so its figures are drawn on the second
    core while the next model trains (small models train on about one core) instead of all at
    the end. :meth:`close` waits and says which reports were written; the caller draws any
    other (a failed one is drawn again in the caller, which then names the error).

    Example:
        >>> worker = ReportWorker(lang="en")  # doctest: +SKIP
        >>> worker.submit(Path("runs/lab/model_1"))  # doctest: +SKIP
        >>> written = worker.close()  # doctest: +SKIP
    """

    def __init__(self, *, lang: str) -> None:
        # Files, not pipes: a chatty report (warnings) cannot fill a pipe and stall the worker.
        self._out: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._err: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._proc: subprocess.Popen[str] | None = subprocess.Popen(
            [sys.executable, "-m", "neuralab.reports.render", "--lang", lang, "--stdin"],
            stdin=subprocess.PIPE,
            stdout=self._out,
            stderr=self._err,
            text=True,
            # Its own session: a Ctrl-C at the terminal goes to the lab, which decides; the
            # worker ends when its input does.
            start_new_session=True,
        )

    def submit(self, run: Path, *, light: bool = False) -> None:
        """Queue ``run``'s report (its files must be complete); ``light``: numbers only."""
        self._send(f"{_LIGHT}{run}" if light else str(run))

    def _send(self, line: str) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            return  # gone: close() will not list the run, so the caller draws it
        try:
            proc.stdin.write(json.dumps(line) + "\n")
            proc.stdin.flush()
        except OSError:
            pass

    def submit_seeds(self, lab: Path, name: str, folders: Sequence[str]) -> None:
        """Queue the figure of experiment ``name``'s seeds (``folders``, all finished) in lab
        folder ``lab``; :meth:`close` then lists the figure's path."""
        self._send(_SEEDS + json.dumps([str(lab), name, list(folders)]))

    def close(self, *, wait: bool = True) -> set[Path]:
        """Finish (or, with ``wait=False``, stop) the worker; the runs whose reports it wrote
        (and the seed figures it drew)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    with contextlib.suppress(OSError):  # the worker may be gone already
                        proc.stdin.close()
                if wait:
                    proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        self._out.seek(0)
        written = {
            Path(json.loads(line[len(_WRITTEN) :]))
            for line in self._out.read().splitlines()
            if line.startswith(_WRITTEN)
        }
        self._err.seek(0)
        errors = self._err.read().strip()
        if errors:  # a failed report is drawn again by the caller, which names the error
            logger.debug("report worker said:\n%s", errors[-4000:])
        self._out.close()
        self._err.close()
        return written

    def __enter__(self) -> ReportWorker:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._proc is not None:
            self.close(wait=False)


# Below this many runs, worker processes cost more to start than they save.
PARALLEL_REPORTS_FROM = 4


def write_lab_report(
    path: str | Path,
    *,
    lang: str = "en",
    jobs: int | None = None,
    written: Collection[Path] = (),
) -> Path:
    """Redraw every experiment's figures, write its report, then the lab's ``report.html``.

    Drawing figures is most of a small lab's report time and is single-threaded, so the
    runs' reports are written in ``jobs`` worker processes (default: one per CPU, at most 4)
    when there are at least ``PARALLEL_REPORTS_FROM`` of them. Runs in ``written`` already
    have their report (drawn by a :class:`ReportWorker` while the lab ran) and are not drawn
    again.
    """
    from neuralab.reports.html import load_lab, render_lab_report

    lab = LabDir.open(path)
    record = lab.read()
    done = {Path(p) for p in written}
    runs = [run.path for run in lab.runs(record) if run.path not in done]
    jobs = min(os.cpu_count() or 1, 4) if jobs is None else jobs
    if len(runs) < PARALLEL_REPORTS_FROM:
        jobs = 1
    # An experiment's other seeds: numbers only (its figures show the first seed).
    light = {lab.path / f for folders in record.groups.values() for f in folders[1:]}
    write_run_reports(runs, lang=lang, jobs=jobs, light=light)
    _comparison_figures(lab.path, record, lang=lang, drawn=done)
    html = render_lab_report(load_lab(lab.path, lang=lang))
    return atomic_write_text(lab.path / files.REPORT, html)


def _seed_histories(path: Path, lab: LabRecord, name: str) -> list[Any]:
    """The histories of an experiment's seeds that have one (a folder of that name in labs
    written before seeds existed)."""
    return _histories(path, lab.groups.get(name, (name,)))


def _histories(path: Path, folders: Sequence[str]) -> list[Any]:
    """The histories of the run ``folders`` of lab folder ``path`` that have one."""
    return [RunDir(path / f).read_history() for f in folders if (path / f / files.HISTORY).exists()]


def draw_seed_figure(path: Path, name: str, folders: Sequence[str], *, lang: str) -> Path | None:
    """Experiment ``name``'s seeds (run ``folders`` of lab folder ``path``): their mean curves
    with a band of one standard deviation, saved where the lab report shows it. None when
    fewer than two seeds have a history."""
    from neuralab.analysis.compare import seed_curves_figure
    from neuralab.analysis.figures import save_figure
    from neuralab.reports.i18n import plot_labels, translator
    from neuralab.reports.views import group_history_figure

    t = translator(lang)
    histories = _histories(path, folders)
    if len(folders) < 2 or len(histories) < 2:
        return None
    fig = seed_curves_figure(
        name,
        histories,
        title=f"{name} · {t['seeds count'].format(n=len(histories))}",
        xlabel=t["epoch"],
        labels=plot_labels(lang),
    )
    if fig is None:
        return None
    target = group_history_figure(path, name)
    save_figure(fig, target)
    return target


def _comparison_figures(
    path: Path, lab: LabRecord, *, lang: str, drawn: Collection[Path] = ()
) -> None:
    """The lab's ``[[compare]]`` figures and each several-seed experiment's curves (the mean
    with a band of one standard deviation; not those in ``drawn``, drawn while the lab ran),
    from the runs' histories."""
    from neuralab.analysis.compare import HistoryComparisonDisplay
    from neuralab.analysis.figures import save_figure
    from neuralab.reports.i18n import plot_labels, translator
    from neuralab.reports.views import LabTexts, compare_figure, group_history_figure

    t = translator(lang)
    texts = LabTexts.of(lab, lang)
    for name, folders in lab.groups.items():
        if group_history_figure(path, name) in drawn:
            continue
        draw_seed_figure(path, name, folders, lang=lang)
    for comparison in lab.compare:
        grouped = {n: _seed_histories(path, lab, n) for n in comparison.experiments}
        compared = {n: (h if len(h) > 1 else h[0]) for n, h in grouped.items() if h}
        if len(compared) < 2:
            continue
        heading = texts.translate(comparison.title, f"{comparison.name}.title") or comparison.name
        for metric in comparison.metrics:
            try:
                display = HistoryComparisonDisplay(
                    compared,
                    metric=metric,
                    smoothing_std=comparison.smoothing_std,
                    title=f"{heading}: {t.get(metric, metric)}",
                ).plot(
                    logx=comparison.logx,
                    ylim=comparison.ylim,
                    xlabel=t["epoch"],
                    labels=plot_labels(lang),
                )
            except ValueError:  # the runs did not log this metric
                continue
            save_figure(display.figure_, compare_figure(path, comparison.name, metric))


def write_report(path: str | Path, *, lang: str = "en") -> Path:
    """Rebuild the report of a run or lab directory from its files alone."""
    from neuralab.reports.html import write_run_report

    path = Path(path)
    if LabDir.is_lab(path):
        return write_lab_report(path, lang=lang)
    return write_run_report(path, lang=lang)


def main(argv: Sequence[str]) -> int:
    from neuralab.reports.html import write_run_report

    args = list(argv)
    lang = "en"
    if args[:1] == ["--lang"]:
        lang, args = args[1], args[2:]
    from_stdin = args == ["--stdin"]
    runs = (json.loads(line) for line in sys.stdin if line.strip()) if from_stdin else args
    status = 0
    for given in runs:
        if given.startswith(_SEEDS):
            lab, name, folders = json.loads(given.removeprefix(_SEEDS))
            try:
                figure = draw_seed_figure(Path(lab), name, folders, lang=lang)
            except Exception as exc:  # the lab report draws it again, and names the error
                print(f"{lab} {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                status = 1
            else:
                if figure is not None:
                    print(_WRITTEN + json.dumps(str(figure)), flush=True)
            continue
        light = given.startswith(_LIGHT)
        run = given.removeprefix(_LIGHT)
        try:
            write_run_report(Path(run), lang=lang, light=light)
        except Exception as exc:  # reported to the parent, which names the run
            print(f"{run}: {type(exc).__name__}: {exc}", file=sys.stderr)
            status = 1
        else:
            if from_stdin:
                print(_WRITTEN + json.dumps(str(run)), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
