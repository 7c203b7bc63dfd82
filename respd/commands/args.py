"""Argument converters with Redis' exact strictness and error texts."""
from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction

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
    if 0 < len(arg) < 19 and arg.isdigit() and (arg[0] != 48 or len(arg) == 1):
        return int(arg)  # the common case, canonical by its shape: ASCII digits, no leading zero, below 2**63
    try:
        v = int(arg)
    except ValueError:
        return None
    if b"%d" % v != arg or not INT64_MIN <= v <= INT64_MAX:
        return None
    return v


def parse_long_double(arg: bytes, error: str = errors.NOT_FLOAT):
    """What Redis' string2ld accepts for INCRBYFLOAT (strtold: decimal or hex, exponents, inf; no spaces, no nan,
    not empty, no overflow or underflow to zero), as the exact value of the nearest 80-bit long double: a
    ``Fraction``, or ``±inf`` as a float for an explicit infinity."""
    if not arg or len(arg) >= 5 * 1024 or arg[:1].isspace() or arg[-1:].isspace() or b"_" in arg:
        raise CommandError(error)
    text = arg.decode("latin-1")
    low = text.lower()
    if "nan" in low:
        raise CommandError(error)
    body = low.lstrip("+-")
    if body.startswith("0x"):
        try:
            exact = Fraction(float.fromhex(text))
        except (ValueError, OverflowError):
            raise CommandError(error) from None
    else:
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise CommandError(error) from None
        if d.is_nan():
            raise CommandError(error)
        if d.is_infinite():
            return float(d)
        exact = Fraction(d)
    value = round_long_double(exact)
    if abs(value) > LDBL_MAX or (exact != 0 and abs(exact) < _LDBL_HALF_TRUE_MIN):
        raise CommandError(error)  # strtold overflow / underflow (ERANGE): string2ld refuses it
    return value


#: the largest finite 80-bit long double: (2 - 2^-63) * 2^16383
LDBL_MAX = Fraction((1 << 64) - 1) * Fraction(2) ** (16383 - 63)
#: half the smallest subnormal long double (2^-16445): anything smaller rounds to zero
_LDBL_HALF_TRUE_MIN = Fraction(1, 2 ** 16446)


def round_long_double(x: Fraction) -> Fraction:
    """x rounded to the nearest value with a 64-bit significand (x87 long double), ties to even."""
    if x == 0:
        return Fraction(0)
    sign = -1 if x < 0 else 1
    x = abs(x)
    e = x.numerator.bit_length() - x.denominator.bit_length()   # 2^(e-1) < x < 2^(e+1)
    if Fraction(2) ** e > x:
        e -= 1                                                   # now 2^e <= x < 2^(e+1)
    shift = 63 - e
    m = round(x * Fraction(2) ** shift)                          # Fraction.__round__ ties to even
    return sign * Fraction(m) / Fraction(2) ** shift


def add_long_double(a, b):
    """a + b computed as an x87 long double; None when the result is NaN or infinite."""
    if isinstance(a, float) or isinstance(b, float):
        return None  # an infinity is involved: inf, -inf or nan
    value = round_long_double(Fraction(a) + Fraction(b))
    if abs(value) > LDBL_MAX:
        return None
    return value


def format_long_double(value) -> bytes:
    """Redis' LD_STR_HUMAN: ``%.17Lf`` of the exact value, then trailing zeros and the dot removed, "-0" → "0"."""
    q = round(Fraction(value) * 10 ** 17)
    digits = format(Decimal(abs(q)), "f").rjust(18, "0")   # not str(): ints beyond 4300 digits refuse it
    text = digits[:-17] + "." + digits[-17:]
    text = text.rstrip("0").rstrip(".")
    if q < 0 and text != "0":
        text = "-" + text
    return text.encode()


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
