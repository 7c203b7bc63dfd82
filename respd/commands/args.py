"""Argument converters with Redis' exact strictness and error texts."""
from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

from .. import errors
from ..errors import CommandError

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def parse_int(arg: bytes, error: str = errors.NOT_INTEGER) -> int:
    """Redis' string2ll: optional '-', digits, no '+', spaces or leading zeros, within int64."""
    try:
        v = int(arg)
    except ValueError:
        raise CommandError(error) from None
    if b"%d" % v != arg or not INT64_MIN <= v <= INT64_MAX:
        raise CommandError(error)
    return v


def try_int(arg: bytes):
    """parse_int returning None instead of raising (for stored values)."""
    try:
        v = int(arg)
    except ValueError:
        return None
    if b"%d" % v != arg or not INT64_MIN <= v <= INT64_MAX:
        return None
    return v


def parse_long_double(arg: bytes, error: str = errors.NOT_FLOAT) -> Decimal:
    """What strtold accepts for INCRBYFLOAT: decimal or hex, exponents, inf; no spaces, no nan, not empty.

    Decimal keeps more precision than a C double, close to Redis' 80-bit long double for common values."""
    if not arg or arg[:1].isspace() or arg[-1:].isspace() or b"_" in arg:
        raise CommandError(error)
    text = arg.decode("latin-1")
    low = text.lower()
    if "nan" in low:
        raise CommandError(error)
    body = low.lstrip("+-")
    if body.startswith("0x"):
        try:
            return Decimal(float.fromhex(text))
        except (ValueError, OverflowError):
            raise CommandError(error) from None
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise CommandError(error) from None
    if d.is_nan():
        raise CommandError(error)
    return d


def format_long_double(d: Decimal) -> bytes:
    """Redis' %.17Lg-then-trim style: fixed point, no exponent, no trailing zeros or dot.

    Rounded to 17 significant digits, as Redis prints (so 0.1 + 0.2 prints 0.3)."""
    if d == 0:
        return b"0"
    text = format(_CTX17.plus(d), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return text.encode()


_CTX17 = Context(prec=17, rounding=ROUND_HALF_EVEN)


def parse_double(arg: bytes, error: str = errors.NOT_FLOAT) -> float:
    if not arg or arg[:1].isspace() or arg[-1:].isspace() or b"_" in arg:
        raise CommandError(error)
    try:
        v = float(arg)
    except ValueError:
        raise CommandError(error) from None
    if math.isnan(v):
        raise CommandError(error)
    return v


def upper(arg: bytes) -> bytes:
    return arg.upper()
