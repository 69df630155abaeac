"""Models from specs, presets, and the shape doctor."""

from neuralab.models.builder import build_layer as build_layer
from neuralab.models.builder import build_model as build_model
from neuralab.models.builder import count_params as count_params
from neuralab.models.builder import model_summary as model_summary
from neuralab.models.presets import PRESETS as PRESETS
from neuralab.models.shape_doctor import Finding as Finding
from neuralab.models.shape_doctor import check_model_fits_data as check_model_fits_data
from neuralab.models.shape_doctor import diagnose as diagnose

__all__ = [
    "PRESETS",
    "Finding",
    "build_layer",
    "build_model",
    "check_model_fits_data",
    "count_params",
    "diagnose",
    "model_summary",
]
