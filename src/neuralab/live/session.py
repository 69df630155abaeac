"""One play page's model: its form turned into a spec, trained epoch by epoch on request.

A :class:`PlaySession` belongs to one browser tab. It prepares its experiment exactly as
``neuralab run`` does (:func:`neuralab.runs.prepare.prepare_experiment`: the same loader,
builder and shape doctor), trains it with the same trainer
(:func:`neuralab.training.trainer.train`) in a thread of its own, watched by a
:class:`~neuralab.training.live.TrainingGate` (Start, Pause, Step, Reset) and a live callback
whose events go to the page, and writes what is on screen as a spec file (Export) or a run
directory (Save run, through :func:`neuralab.runs.runner.run_experiment`).
"""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from neuralab.config import ExperimentSpec, parse_experiments
from neuralab.data.dataset import Dataset
from neuralab.errors import NeuralabError, SpecError
from neuralab.live.bus import EventBus
from neuralab.live.playspec import Upload, document_spec, page_document
from neuralab.live.toml_text import dump_toml
from neuralab.live.uploads import save_upload
from neuralab.record import files
from neuralab.runs.prepare import PreparedExperiment, prepare_experiment
from neuralab.training.live import TrainingGate, begin_event, make_live_callback

logger = logging.getLogger(__name__)

#: Keras seeds and builds through process-wide state: one tab prepares at a time, so a
#: model's first weights depend on its seed only.
PREPARE_LOCK = threading.Lock()
#: How long Reset or closing waits for a training thread to stop (seconds).
JOIN_SECONDS = 30.0

STATUSES = ("idle", "preparing", "training", "paused", "finished", "error")


def _parts(prepared: PreparedExperiment) -> list[tuple[str, Dataset]]:
    """``(split, data)`` shown on the page: training first, then validation and test."""
    return list(prepared.splits.items())


def evaluate_splits(prepared: PreparedExperiment) -> dict[str, dict[str, float]]:
    """Loss and metrics of every split, evaluated as ``neuralab run`` evaluates a run."""
    from neuralab.training.trainer import align_labels

    model = prepared.model
    out: dict[str, dict[str, float]] = {}
    for name, part in prepared.splits.items():
        values = model.evaluate(
            part.x,
            align_labels(model, part.y),
            batch_size=max(prepared.spec.fit.batch_size, 1024),
            verbose=0,
            return_dict=True,
        )
        out[name] = {k: float(v) for k, v in values.items()}
    return out


class PlaySession:
    """The model of one tab.

    Args:
        session_id: Its channel on the bus.
        bus: Where its events go.
        output: Folder for saved runs.
        upload_dir: Folder for uploaded tables.
        lang: Report language of saved runs.
    """

    def __init__(
        self,
        session_id: str,
        bus: EventBus,
        *,
        output: Path,
        upload_dir: Path,
        lang: str = "en",
    ) -> None:
        self.id = session_id
        self.bus = bus
        self.output = Path(output)
        self.upload_dir = Path(upload_dir)
        self.lang = lang
        self.lock = threading.RLock()
        self.status = "idle"
        self.message = ""
        self.thread: threading.Thread | None = None
        self.saver: threading.Thread | None = None
        self.gate: TrainingGate | None = None
        self.document: dict[str, Any] | None = None  # what trains (or trained)
        self.epochs_done = 0
        self.metrics: dict[str, dict[str, float]] = {}
        self.upload: Upload | None = None
        self.upload_data: Dataset | None = None
        self.generation = 0
        self.touched = time.monotonic()

    # ------------------------------------------------------------------ events
    def publish(self, event: Mapping[str, Any]) -> None:
        self.bus.publish(self.id, dict(event))

    def _set_state(self, status: str, message: str = "") -> None:
        self.status, self.message = status, message
        self.publish(
            {"type": "state", "status": status, "message": message, "epochs": self.epochs_done}
        )

    def _sink(self, generation: int) -> Any:
        def sink(events: list[Any]) -> None:
            if generation != self.generation:
                return  # a reset model's last events
            for event in events:
                if event.type == "epoch":
                    self.epochs_done = event.epoch
            self.bus.publish_many(self.id, [event.model_dump(mode="json") for event in events])

        return sink

    # ------------------------------------------------------------------ the spec
    def _document(self, config: Mapping[str, Any], epochs: int | None = None) -> dict[str, Any]:
        data = config.get("data") if isinstance(config, Mapping) else None
        upload = self.upload if isinstance(data, Mapping) and data.get("name") == "csv" else None
        return page_document(config, upload=upload, epochs=epochs)

    def _prepare(self, spec: ExperimentSpec) -> PreparedExperiment:
        data = self.upload_data if spec.data.name == "csv" else None
        with PREPARE_LOCK:
            return prepare_experiment(spec, data=data, where="page")

    def _begin(self, prepared: PreparedExperiment) -> Any:
        return begin_event(
            name=prepared.spec.name,
            epochs=prepared.epochs,
            parts=_parts(prepared),
            seed=prepared.spec.seed,
            findings=prepared.findings,
        )

    # ------------------------------------------------------------------ requests
    def preview(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Prepare the form's model without training it: the shape doctor's findings, the
        parameter count and the data points (a ``begin`` event)."""
        from neuralab.models.builder import count_params

        with self.lock:
            self.touched = time.monotonic()
            if self.status in ("preparing", "training", "paused"):
                return {"ok": False, "message": "Reset first to change the model."}
            spec = document_spec(self._document(config))
            prepared = self._prepare(spec)
            self.epochs_done = 0
            self.metrics = {}
            self.document = None
            self.bus.clear(self.id)
            self.publish({"type": "reset"})
            self.publish(self._begin(prepared).model_dump(mode="json"))
            self._set_state("idle")
            return {
                "ok": True,
                "params": count_params(prepared.model).get("total", 0),
                "findings": [f.message for f in prepared.findings],
            }

    def start(self, config: Mapping[str, Any], *, steps: int | None = None) -> dict[str, Any]:
        """Start training the form's model (or go on after a pause); with ``steps``, train
        that many epochs and pause."""
        with self.lock:
            self.touched = time.monotonic()
            if self.status == "paused" and self.gate is not None:
                if steps:
                    self.gate.step(steps)
                    self._set_state("training", "step")
                else:
                    self.gate.resume()
                    self._set_state("training")
                return {"ok": True}
            if self.status in ("preparing", "training"):
                if steps and self.gate is not None:
                    self.gate.step(steps)  # pause after the next epoch
                return {"ok": True}
            if self.status == "finished":
                return {
                    "ok": False,
                    "message": "Training has finished. Reset to train again, or raise the "
                    "epochs and Reset.",
                }
            document = self._document(config)
            spec = document_spec(document)
            self.document = document
            self.epochs_done = 0
            self.metrics = {}
            self.gate = TrainingGate()
            if steps:
                self.gate.step(steps)
            self.generation += 1
            self._set_state("preparing")
            self.thread = threading.Thread(
                target=self._train,
                args=(spec, self.gate, self.generation),
                name=f"play-{self.id}",
                daemon=True,
            )
            self.thread.start()
            return {"ok": True}

    def pause(self) -> dict[str, Any]:
        with self.lock:
            if self.status in ("training", "preparing") and self.gate is not None:
                self.gate.pause()
                self._set_state("paused")
            return {"ok": True}

    def reset(self) -> dict[str, Any]:
        """Stop training and forget the model (the form stays)."""
        with self.lock:
            self.generation += 1
            gate, thread = self.gate, self.thread
            self.gate, self.thread = None, None
        if gate is not None:
            gate.stop()
        if thread is not None:
            thread.join(JOIN_SECONDS)
        with self.lock:
            self.document = None
            self.epochs_done = 0
            self.metrics = {}
            self.bus.clear(self.id)
            self.publish({"type": "reset"})
            self._set_state("idle")
        return {"ok": True}

    def close(self) -> None:
        """Stop any training (the server is stopping)."""
        with self.lock:
            self.generation += 1
            gate, thread = self.gate, self.thread
        if gate is not None:
            gate.stop()
        if thread is not None:
            thread.join(JOIN_SECONDS)

    def upload_table(self, name: str, body: bytes, *, label: str | None = None) -> dict[str, Any]:
        """Keep and read an uploaded table; it becomes the ``csv`` choice of the form."""
        with self.lock:
            self.touched = time.monotonic()
            upload, data = save_upload(self.upload_dir, name, body, label=label)
            self.upload, self.upload_data = upload, data
            return {
                "ok": True,
                "name": upload.name,
                "rows": upload.n_rows,
                "n_classes": upload.n_classes,
                "class_names": list(data.class_names),
                "label": upload.label or "",
                "source": data.source,
            }

    # ------------------------------------------------------------------ export
    def current_document(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The document of what is on screen: the trained model with the epochs it has run,
        else the form."""
        with self.lock:
            if self.document is not None and self.epochs_done > 0:
                return {
                    **self.document,
                    "fit": {**self.document["fit"], "epochs": self.epochs_done},
                }
            return self._document(config)

    def export(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The spec file (TOML) of what is on screen, checked to read back to the same spec."""
        document = self.current_document(config)
        if document["data"].get("name") == "csv" and self.upload and not self.upload.exportable:
            raise SpecError(
                f"data: {self.upload.name} trains here, but this neuralab has no `csv` data set "
                "to name it in a spec file, so it cannot be exported or saved as a run."
            )
        spec = document_spec(document)
        accuracy = self.metrics.get("test", {}).get("accuracy")
        shown = f"; test accuracy {accuracy:.4f}" if accuracy is not None else ""
        header = (
            f"Exported by neuralab play on {datetime.now():%Y-%m-%d %H:%M}: {spec.title}.\n"
            f"{spec.fit.epochs} epochs, seed {spec.seed}{shown}.\n"
            f"`neuralab run {spec.name}.toml` trains the same model on the same data with "
            "the same seed."
        )
        text = dump_toml(document, header=header)
        again = parse_experiments(tomllib.loads(text), source="export").experiments[0]
        if again != spec:  # never hand out a file that would train something else
            raise NeuralabError("the exported spec does not read back to the same experiment.")
        return {"ok": True, "toml": text, "filename": f"{spec.name}.toml"}

    def save_run(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Train what is on screen again as a normal run (run directory and report), in a
        thread; a ``saved`` event says where."""
        from neuralab.runs.runner import run_experiment

        self.export(config)  # the same checks (an upload this neuralab cannot name)
        spec = document_spec(self.current_document(config))
        with self.lock:
            if self.saver is not None and self.saver.is_alive():
                return {"ok": False, "message": "A run is being saved; wait for it."}

            def save() -> None:
                try:
                    prepared = self._prepare(spec)
                    result = run_experiment(
                        spec, output=self.output, prepared=prepared, lang=self.lang
                    )
                    self.publish(
                        {
                            "type": "saved",
                            "path": str(result.path),
                            "report": str(result.path / files.REPORT),
                            "metrics": result.metrics,
                        }
                    )
                except NeuralabError as exc:
                    self.publish({"type": "error", "message": str(exc)})
                except KeyboardInterrupt:
                    self.publish({"type": "error", "message": "Saving was interrupted."})
                except Exception as exc:  # shown on the page; the server keeps serving
                    logger.exception("saving a run failed")
                    self.publish({"type": "error", "message": f"Saving failed: {exc}"})

            self.publish({"type": "saving", "name": spec.name})
            self.saver = threading.Thread(target=save, name=f"save-{self.id}", daemon=True)
            self.saver.start()
        return {"ok": True}

    # ------------------------------------------------------------------ training
    def _train(self, spec: ExperimentSpec, gate: TrainingGate, generation: int) -> None:
        from neuralab.models.shape_doctor import from_logits
        from neuralab.training.trainer import train

        try:
            prepared = self._prepare(spec)
            if generation != self.generation:
                return
            callback = make_live_callback(
                self._sink(generation),
                begin=self._begin(prepared),
                parts=_parts(prepared),
                from_logits=from_logits(prepared.loss),
                gate=gate,
            )
            with self.lock:
                # A Pause pressed while the model was being prepared holds: the gate stops
                # training at the first epoch's end and the page keeps saying so.
                if generation == self.generation and self.status != "paused":
                    self._set_state("training")
            validation = prepared.validation
            result = train(
                prepared.model,
                prepared.splits.train.x,
                prepared.splits.train.y,
                epochs=prepared.epochs,
                batch_size=spec.fit.batch_size,
                validation_data=(validation[1].x, validation[1].y) if validation else None,
                shuffle=spec.fit.shuffle,
                lr_schedule=spec.fit.lr_schedule,
                callbacks=[*prepared.callbacks, callback],
                trainer=spec.fit.trainer,
                seed=spec.seed,
            )
            if generation != self.generation or gate.stopped:
                return
            metrics = evaluate_splits(prepared)
            with self.lock:
                if generation != self.generation:
                    return
                self.metrics = metrics
                self.epochs_done = result.epochs_run
                self.publish(
                    {
                        "type": "metrics",
                        "metrics": metrics,
                        "epochs_run": result.epochs_run,
                        "trainer": result.trainer,
                        "wall_time": round(result.wall_time, 3),
                    }
                )
                self._set_state("finished")
        except NeuralabError as exc:
            with self.lock:
                if generation == self.generation:
                    self._set_state("error", str(exc))
        except Exception as exc:  # shown on the page; the server keeps serving
            logger.exception("training on the play page failed")
            with self.lock:
                if generation == self.generation:
                    self._set_state("error", f"Training failed: {type(exc).__name__}: {exc}")
