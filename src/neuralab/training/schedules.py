"""Per-epoch learning-rate functions written as text, e.g. ``1e-4 * 10**(epoch/20)``.

A spec file cannot hold a Python lambda, so the chapter's
``LearningRateScheduler(lambda epoch: 1e-4 * 10**(epoch/20))`` is written as the
expression ``"1e-4 * 10**(epoch/20)"``. It is parsed once into a small, safe evaluator:
numbers, the names ``epoch`` (0-based) and ``lr`` (the current rate), ``+ - * / // % **``,
comparisons, ``a if c else b`` and a few functions from :mod:`math`. Nothing else runs.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from neuralab.errors import SpecError

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "sqrt": math.sqrt,
    "cos": math.cos,
    "sin": math.sin,
    "floor": math.floor,
    "ceil": math.ceil,
    "min": min,
    "max": max,
    "abs": abs,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLES = ("epoch", "lr")


class EpochSchedule:
    """A learning rate as a function of the epoch, parsed from text.

    Args:
        expression: Python-like arithmetic in ``epoch`` and ``lr``.

    Raises:
        SpecError: the expression has a syntax error or uses something not allowed.

    Example:
        >>> EpochSchedule("1e-4 * 10**(epoch/20)")(20)
        0.001
    """

    def __init__(self, expression: str) -> None:
        self.expression = expression
        try:
            tree = ast.parse(expression, mode="eval")
        except SyntaxError as exc:
            raise SpecError(
                f"`lr_schedule` is not a valid expression: {exc.msg} at column "
                f"{exc.offset}. Received: lr_schedule={expression!r}. Write arithmetic "
                "in `epoch` and `lr`, e.g. '1e-4 * 10**(epoch/20)'."
            ) from None
        self._check(tree.body)
        self._tree = tree.body
        value = self(0, 0.001)
        if not math.isfinite(value) or value <= 0:
            raise SpecError(
                f"`lr_schedule` must give a positive learning rate; at epoch 0 it gives "
                f"{value!r}. Received: lr_schedule={expression!r}."
            )

    def _check(self, node: ast.AST) -> None:
        allowed = (
            ast.Expression,
            ast.BinOp,
            ast.UnaryOp,
            ast.Compare,
            ast.IfExp,
            ast.Call,
            ast.Name,
            ast.Constant,
            ast.Load,
        )
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and child.id not in (
                *VARIABLES,
                *_FUNCTIONS,
                *_CONSTANTS,
            ):
                raise SpecError(
                    f"`lr_schedule` uses the unknown name {child.id!r}. Allowed names: "
                    f"epoch, lr, {', '.join(sorted((*_FUNCTIONS, *_CONSTANTS)))}. "
                    f"Received: lr_schedule={self.expression!r}."
                )
            if isinstance(child, ast.Call) and not (
                isinstance(child.func, ast.Name) and child.func.id in _FUNCTIONS
            ):
                raise SpecError(
                    f"`lr_schedule` may only call {', '.join(sorted(_FUNCTIONS))}. "
                    f"Received: lr_schedule={self.expression!r}."
                )
            if isinstance(child, ast.Constant) and not isinstance(child.value, int | float):
                raise SpecError(
                    f"`lr_schedule` may only contain numbers. Received: "
                    f"lr_schedule={self.expression!r}."
                )
            if not isinstance(child, (*allowed, *_BINARY_NODES, *_UNARY_NODES, *_COMPARE_NODES)):
                raise SpecError(
                    f"`lr_schedule` may only contain arithmetic ({type(child).__name__} "
                    f"is not allowed). Received: lr_schedule={self.expression!r}."
                )

    def __call__(self, epoch: int, lr: float = 0.0) -> float:
        return float(self._eval(self._tree, {"epoch": epoch, "lr": lr}))

    def _eval(self, node: ast.AST, env: dict[str, float]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            return _CONSTANTS[node.id]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self._eval(node.left, env), self._eval(node.right, env))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, env))
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, env)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self._eval(comparator, env)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            branch = node.body if self._eval(node.test, env) else node.orelse
            return self._eval(branch, env)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return _FUNCTIONS[node.func.id](*(self._eval(a, env) for a in node.args))
        raise SpecError(f"cannot evaluate {ast.dump(node)}")  # unreachable after _check

    def __repr__(self) -> str:
        return f"EpochSchedule({self.expression!r})"


_BINARY_NODES = tuple(_BINARY)
_UNARY_NODES = tuple(_UNARY)
_COMPARE_NODES = tuple(_COMPARE)
