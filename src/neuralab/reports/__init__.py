"""Reports: HTML (self-contained) and terminal summaries, in English or Portuguese."""

from neuralab.reports.html import load_lab as load_lab
from neuralab.reports.html import load_run as load_run
from neuralab.reports.html import render_lab_report as render_lab_report
from neuralab.reports.html import render_run_report as render_run_report
from neuralab.reports.i18n import LANGUAGES as LANGUAGES
from neuralab.reports.render import write_report as write_report

__all__ = [
    "LANGUAGES",
    "load_lab",
    "load_run",
    "render_lab_report",
    "render_run_report",
    "write_report",
]
