"""Ctrl-C as a request: the CLI's SIGINT handler asks, runs stop at their safe points."""

from __future__ import annotations


class _StopRequest:
    """A Ctrl-C that the CLI turned into a request, honoured at this module's safe points.

    A ``KeyboardInterrupt`` raised wherever SIGINT happens to land in a run can be lost or
    do harm: JAX runs a Python function from ``gc.callbacks`` (``_xla_gc_callback``), and
    CPython drops an exception raised there ("Exception ignored in ..."); Keras's
    functional-model tracing runs under a bare ``except:``
    (``Functional._maybe_warn_inputs_struct_mismatch``); and one that stops the wait for an
    XLA compile leaves the compile thread running into interpreter exit (a segfault). So the
    CLI's SIGINT handler only calls :func:`request_stop`; training stops at the end of the
    current epoch (``model.stop_training``, the epochs so far are kept) and the run raises
    ``KeyboardInterrupt`` itself at a phase boundary (data loaded, trained, evaluated, stored).
    """

    requested = False


def request_stop() -> None:
    """Ask the running experiment(s) to stop as on Ctrl-C, at the next safe point.

    Safe to call from a signal handler (it only sets a flag). The run ends as an interrupted
    one: saved, marked incomplete, ``KeyboardInterrupt`` raised.
    """
    _StopRequest.requested = True


def stop_requested() -> bool:
    """True once :func:`request_stop` was called (until :func:`clear_stop_request`)."""
    return _StopRequest.requested


def clear_stop_request() -> None:
    _StopRequest.requested = False


def _stop_point() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was requested; call only where that is safe."""
    if _StopRequest.requested:
        raise KeyboardInterrupt
