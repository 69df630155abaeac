"""The typed run record: file names, versioned records, and the run and lab directories."""

from neuralab.record import files as files
from neuralab.record.models import SCHEMA_VERSION as SCHEMA_VERSION
from neuralab.record.models import ComparisonRecord as ComparisonRecord
from neuralab.record.models import EnvRecord as EnvRecord
from neuralab.record.models import EvaluationRecord as EvaluationRecord
from neuralab.record.models import ExpectationResult as ExpectationResult
from neuralab.record.models import FindingRecord as FindingRecord
from neuralab.record.models import LabRecord as LabRecord
from neuralab.record.models import LayersRecord as LayersRecord
from neuralab.record.models import LRFindRecord as LRFindRecord
from neuralab.record.models import LRTestRecord as LRTestRecord
from neuralab.record.models import MetricsRecord as MetricsRecord
from neuralab.record.models import Record as Record
from neuralab.record.models import SpecRecord as SpecRecord
from neuralab.record.models import StatusRecord as StatusRecord
from neuralab.record.models import TrainingInfo as TrainingInfo
from neuralab.record.models import WeightsRecord as WeightsRecord
from neuralab.record.rundir import LabDir as LabDir
from neuralab.record.rundir import RunDir as RunDir
from neuralab.record.rundir import ensure_writable as ensure_writable
from neuralab.record.rundir import new_directory as new_directory
from neuralab.record.rundir import to_json as to_json

__all__ = [
    "SCHEMA_VERSION",
    "ComparisonRecord",
    "EnvRecord",
    "EvaluationRecord",
    "ExpectationResult",
    "FindingRecord",
    "LRFindRecord",
    "LRTestRecord",
    "LabDir",
    "LabRecord",
    "LayersRecord",
    "MetricsRecord",
    "Record",
    "RunDir",
    "SpecRecord",
    "StatusRecord",
    "TrainingInfo",
    "WeightsRecord",
    "ensure_writable",
    "files",
    "new_directory",
    "to_json",
]
