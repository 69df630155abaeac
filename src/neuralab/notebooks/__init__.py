"""Labs as Jupyter notebooks (``neuralab notebook LAB``) and progress bars for notebooks.

Example:
    >>> from neuralab.notebooks import write_notebook
    >>> write_notebook("circles", "circles.ipynb", lang="pt", quick=True)  # doctest: +SKIP
"""

from neuralab.notebooks.builder import lab_notebook as lab_notebook
from neuralab.notebooks.builder import write_notebook as write_notebook
from neuralab.notebooks.progress import ProgressBar as ProgressBar
from neuralab.notebooks.progress import progress_bars as progress_bars

__all__ = ["ProgressBar", "lab_notebook", "progress_bars", "write_notebook"]
