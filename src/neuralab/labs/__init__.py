"""Labs: the course chapters as experiment files run by the generic runner."""

from neuralab.labs.registry import LABS as LABS
from neuralab.labs.registry import lab_file as lab_file
from neuralab.labs.registry import load_lab_spec as load_lab_spec
from neuralab.labs.runner import LabResult as LabResult
from neuralab.labs.runner import run_experiment_file as run_experiment_file
from neuralab.labs.runner import run_lab as run_lab

__all__ = ["LABS", "LabResult", "lab_file", "load_lab_spec", "run_experiment_file", "run_lab"]
