"""Per-epoch learning-rate functions written as text, e.g. ``1e-4 * 10**(epoch/20)``.

A spec file cannot hold a Python lambda, so the chapter's
``LearningRateScheduler(lambda epoch: 1e-4 * 10**(epoch/20))`` is written as the
expression ``"1e-4 * 10**(epoch/20)"``. It is parsed once into a small, safe evaluator:
numbers, the names ``epoch`` (0-based) and ``lr`` (the current rate), ``+ - * / // % **``,
comparisons, ``a if c else b`` and a few functions from :mod:`math`. Nothing else runs.

What it computes is bounded too: a power whose result would be beyond a float's range
(``10**10**10``) is refused before it is computed, as are expressions longer than
``MAX_LENGTH`` characters or nested deeper than ``MAX_DEPTH``; arithmetic errors (division
by zero, ``log(0)``) become a :class:`~neuralab.errors.SpecError` naming the epoch.
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
# How many arguments each function takes (min, max; None: any number).
_ARITY: dict[str, tuple[int, int | None]] = {
    **{name: (1, 1) for name in _FUNCTIONS},
    "log": (1, 2),
    "min": (2, None),
    "max": (2, None),
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLES = ("epoch", "lr")
FIX = "Write arithmetic in `epoch` and `lr`, e.g. '1e-4 * 10**(epoch/20)'."
MAX_LENGTH = 1000
MAX_DEPTH = 100
# Powers must stay below 2**MAX_POWER_BITS: floats end there, so anything larger is no
# learning rate, and computing it (10**10**10 is a 4 GB integer) would hang the run.
MAX_POWER_BITS = 1024


def _depth(node: ast.AST) -> int:
    """Nesting depth of an expression tree, without recursion (its input may be deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(current))
    return deepest


def _power_bits(base: Any, exponent: Any) -> float:
    """log2 of ``|base ** exponent|`` without computing the power (inf: too large to say)."""
    if base == 0 or abs(base) == 1:
        return 0.0
    try:
        return float(exponent) * math.log2(abs(base))
    except OverflowError:  # an exponent too large for a float
        return math.inf


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
        if len(expression) > MAX_LENGTH:
            raise SpecError(
                f"`lr_schedule` is {len(expression)} characters long; at most {MAX_LENGTH} "
                f"are allowed. Received: lr_schedule={_shorten(expression)!r}. {FIX}"
            )
        try:
            tree = ast.parse(expression, mode="eval")
        except SyntaxError as exc:
            raise SpecError(
                f"`lr_schedule` is not a valid expression: {exc.msg} at column "
                f"{exc.offset}. Received: lr_schedule={expression!r}. {FIX}"
            ) from exc
        except (RecursionError, MemoryError) as exc:  # the parser's own nesting limit
            raise SpecError(
                f"`lr_schedule` is nested too deeply to parse. Received: "
                f"lr_schedule={_shorten(expression)!r}. {FIX}"
            ) from exc
        if _depth(tree.body) > MAX_DEPTH:
            raise SpecError(
                f"`lr_schedule` is nested more than {MAX_DEPTH} levels deep. Received: "
                f"lr_schedule={_shorten(expression)!r}. {FIX}"
            )
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
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name):
                low, high = _ARITY[child.func.id]
                n = len(child.args)
                if n < low or (high is not None and n > high) or child.keywords:
                    wanted = f"{low}" if low == high else f"{low} or {high or 'more'}"
                    raise SpecError(
                        f"`lr_schedule` calls {child.func.id}() with {n} argument(s)"
                        f"{' and keywords' if child.keywords else ''}; it takes {wanted} "
                        f"positional argument(s). Received: lr_schedule={self.expression!r}."
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
        """The learning rate at ``epoch`` (0-based) when the current rate is ``lr``.

        Raises:
            SpecError: the expression cannot be computed there (division by zero, a
                power too large, ``log`` of a negative number, ...).
        """
        try:
            return float(self._eval(self._tree, {"epoch": epoch, "lr": lr}))
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise SpecError(
                f"`lr_schedule` cannot be computed at epoch {epoch} (lr={lr!r}): {exc}. "
                f"Received: lr_schedule={self.expression!r}. {FIX}"
            ) from exc

    def _eval(self, node: ast.AST, env: dict[str, float]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            return _CONSTANTS[node.id]
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, env), self._eval(node.right, env)
            if isinstance(node.op, ast.Pow):
                return self._power(left, right, env)
            return _BINARY[type(node.op)](left, right)
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

    def _power(self, base: Any, exponent: Any, env: dict[str, float]) -> Any:
        # Checked before computing: 10**10**10 would take hours and gigabytes.
        bits = _power_bits(base, exponent)
        if bits >= MAX_POWER_BITS:
            size = "an infinite number" if math.isinf(bits) else f"about 2**{bits:.3g}"
            raise SpecError(
                f"`lr_schedule` would compute {_number(base)} ** {_number(exponent)} at "
                f"epoch {env['epoch']}, {size}; powers must "
                f"stay below 2**{MAX_POWER_BITS} (the largest float, about 1.8e308). Received: "
                f"lr_schedule={self.expression!r}. Keep exponents small, e.g. "
                "'1e-4 * 10**(epoch/20)'."
            )
        fractional = isinstance(exponent, float) and not exponent.is_integer()
        if base < 0 and fractional and math.isfinite(exponent):
            raise SpecError(
                f"`lr_schedule` would raise the negative number {base!r} to the fractional "
                f"power {exponent!r} at epoch {env['epoch']} (a complex number). Received: "
                f"lr_schedule={self.expression!r}. {FIX}"
            )
        return operator.pow(base, exponent)

    def __repr__(self) -> str:
        return f"EpochSchedule({self.expression!r})"


def _number(value: Any) -> str:
    """A number for a message (Python refuses to print integers of over 4300 digits)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"<an integer of {value.bit_length()} bits>"
    return repr(value)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


_BINARY_NODES = tuple(_BINARY)
_UNARY_NODES = tuple(_UNARY)
_COMPARE_NODES = tuple(_COMPARE)
