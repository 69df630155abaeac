"""``--executor ray`` on a two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``),
as a cluster would run a sweep: the driver joins it by address, runs go to both nodes, and
their folders come back into the lab with the numbers of a run here.

Run in a network namespace that holds only loopback (as every test is): the nodes then talk
over 127.0.0.1 only.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.config import load_experiments
from neuralab.record import LabDir, MetricsRecord, RunDir, files
from neuralab.runs.file_runner import run_experiment_file

ray = pytest.importorskip("ray")  # the dev extra installs it

SWEEP = """
title = "cluster sweep"
[defaults]
seed = 5
[defaults.data]
name = "circles"
n_samples = 200
noise = 0.1
test_size = 40
[defaults.compile]
loss = "binary_crossentropy"
optimizer = "Adam"
[defaults.fit]
epochs = 2
batch_size = 32

[[experiments]]
name = "mlp"
model.layers = [
  {type = "Dense", units = 5, activation = "relu"},
  {type = "Dense", units = 1, activation = "sigmoid"},
]
variants = {"compile.learning_rate" = [0.01, 0.03]}
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A head and a second node, one CPU each (this module's Ray instance)."""
    from ray.cluster_utils import Cluster

    with warnings.catch_warnings():  # Ray starts its servers with fork + exec
        warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
        made = Cluster(
            initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
        )
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
            made.add_node(num_cpus=1)
        yield made
    finally:
        made.shutdown()


def test_a_sweep_on_a_two_node_cluster_uses_both_nodes_and_gives_the_local_numbers(
    cluster, write_toml, tmp_path, caplog
):
    experiments = load_experiments(write_toml(SWEEP))
    here = run_experiment_file(experiments, name="here", output=tmp_path / "here")
    caplog.set_level(logging.DEBUG, logger="neuralab.runs.executors")
    there = run_experiment_file(
        experiments,
        name="there",
        output=tmp_path / "there",
        executor="ray",
        address=cluster.address,
    )
    assert not ray.is_initialized()  # joined for the sweep, then left
    assert there.status == "complete"
    assert [r.path.name for r in there.runs] == [r.path.name for r in here.runs]
    for a, b in zip(here.runs, there.runs, strict=True):
        pd.testing.assert_frame_equal(
            RunDir(a.path).read_history(), RunDir(b.path).read_history(), check_exact=True
        )
        assert (
            RunDir(a.path).read(MetricsRecord).metrics == RunDir(b.path).read(MetricsRecord).metrics
        )
    nodes = {
        m.group(1)
        for m in (re.search(r"from node (\w+)", r.getMessage()) for r in caplog.records)
        if m
    }
    assert len(nodes) == 2, caplog.text  # both nodes trained runs
    assert (there.path / files.REPORT).exists()
    assert not [p for p in there.path.iterdir() if p.name.startswith(".")]


def test_without_an_address_a_local_ray_is_started_and_stopped(cluster, tiny_spec, tmp_path):
    # A cluster runs on this machine (`ray start` writes where to find it); without --address
    # the run does not join it, it starts a Ray instance of its own and stops it at the end.
    result = CliRunner().invoke(
        app,
        ["--quiet", "run", str(tiny_spec), "--executor", "ray", "-o", str(tmp_path / "out")],
        env={"RAY_ADDRESS": None},
    )
    assert result.exit_code == 0, result.output
    assert not ray.is_initialized()
    (lab,) = (tmp_path / "out").iterdir()
    assert LabDir(lab).read().status == "complete"
    assert RunDir(lab / "small").status.complete
    assert cluster.remaining_processes_alive()  # the cluster is still there, untouched


def test_a_wrong_address_is_one_line_naming_it(tiny_spec, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(tiny_spec),
            "--executor",
            "ray",
            "--address",
            "127.0.0.1:1",
            "-o",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "--address 127.0.0.1:1: no Ray cluster there" in result.output
    assert not (tmp_path / "out").exists()


def test_a_lab_waiting_for_its_range_test_is_refused_before_ray_starts(tmp_path):
    # The circles lab's model_10 trains at the rate its range test (model_9) suggests.
    result = CliRunner().invoke(
        app, ["lab", "circles", "--quick", "--executor", "ray", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 1, result.output
    assert " ".join(result.output.split()) == (
        "Error: --executor ray: model_10 uses a suggested learning rate, which needs the range "
        "test before it to finish first. Run with --executor local --jobs 1."
    )
    assert not ray.is_initialized()
    assert not (tmp_path / "out").exists()
