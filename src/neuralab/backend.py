"""Choosing the Keras backend before Keras is imported.

The rule (measured on a 2-core CPU machine, see DESIGN.md): JAX for dense models,
TensorFlow for convolutions on a CPU (oneDNN convolutions are ~8x faster than XLA's
there); on a GPU, JAX for both. The choice must be made before ``import keras``.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from neuralab.errors import NeuralabError, one_of

BACKENDS = ("auto", "jax", "tensorflow", "torch")
_CONV_PREFIXES = ("Conv", "SeparableConv", "DepthwiseConv")


@dataclass(frozen=True)
class BackendChoice:
    """The backend in use and why it was chosen."""

    name: str
    requested: str
    reason: str

    def __repr__(self) -> str:
        return f"BackendChoice(name={self.name!r}, requested={self.requested!r})"


def has_gpu() -> bool:
    """True when an NVIDIA GPU is visible (checked without importing any framework)."""
    return Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi") is not None


def choose_backend(requested: str = "auto", *, layer_types: tuple[str, ...] = ()) -> BackendChoice:
    """Apply the backend rule.

    Args:
        requested: One of ``"auto"``, ``"jax"``, ``"tensorflow"``, ``"torch"``.
        layer_types: Keras layer class names of the models to train (for ``auto``).

    Returns:
        The chosen backend with a one-line reason.

    Raises:
        NeuralabError: ``requested`` is not a known backend.
    """
    if requested not in BACKENDS:
        raise NeuralabError(one_of("backend", requested, BACKENDS))
    if requested != "auto":
        return BackendChoice(requested, requested, "requested explicitly")
    if has_gpu():
        return BackendChoice("jax", "auto", "GPU present: JAX for dense and convolutional models")
    convs = sorted({t for t in layer_types if t.startswith(_CONV_PREFIXES)})
    if convs:
        return BackendChoice(
            "tensorflow",
            "auto",
            f"CPU with convolutions ({', '.join(convs)}): TensorFlow's oneDNN kernels are fastest",
        )
    return BackendChoice("jax", "auto", "CPU, dense model: JAX has the lowest per-step overhead")


def active_backend() -> str | None:
    """The backend of an already imported Keras, or None if Keras is not imported yet."""
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    return str(keras.backend.backend())


def use_backend(choice: BackendChoice | str) -> BackendChoice:
    """Make ``choice`` the Keras backend; must run before Keras is imported.

    If Keras is already imported with another backend, the choice cannot be applied in
    this process and a :class:`NeuralabError` explains how to fix it.
    """
    if isinstance(choice, str):
        choice = choose_backend(choice)
    current = active_backend()
    if current is not None and current != choice.name:
        raise NeuralabError(
            f"Keras is already imported with the {current!r} backend, so the "
            f"{choice.name!r} backend cannot be used in this process. Call "
            f"neuralab.use_backend({choice.name!r}) before importing keras, or pass "
            f"--backend {current}."
        )
    if choice.name == "torch":
        try:
            import torch  # noqa: F401
        except ImportError as exc:
            raise NeuralabError(
                "The 'torch' backend needs PyTorch, which is not installed. Install it with "
                "`pip install 'neuralab[torch]'` or use --backend jax|tensorflow."
            ) from exc
    # Keras reads its backend from this variable at import time; it is the documented switch.
    os.environ["KERAS_BACKEND"] = choice.name
    return choice


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/neuralab`` (or ``~/.cache/neuralab``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "neuralab"


def enable_compilation_cache(directory: str | Path | None = None) -> Path | None:
    """Keep JAX's compiled XLA programs on disk and reuse them across models and runs.

    A lab trains several models of the same shape (the circles lab: models 7-10), and the
    same lab runs again later; compiling an epoch program takes about a second on a CPU,
    often more than training a small model. Only has an effect on the JAX backend.

    Returns:
        The cache folder, or None when JAX is not the backend or the folder is not writable.
    """
    if os.environ.get("KERAS_BACKEND") != "jax":
        return None
    path = Path(directory) if directory is not None else default_cache_dir() / "xla"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
