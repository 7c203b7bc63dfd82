"""Arguments: converters with Redis' exact strictness and error texts, and ``Options``, the parser of a command's
optional tokens (SET's ``NX``, ``EX seconds``...)."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Optional

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


def count_at_least(minimum: int):
    """An option converter: an integer of at least ``minimum`` (Redis' COUNT/SAMPLES), else the syntax error Redis
    answers for a count out of range (NOT_INTEGER for one that is no integer)."""
    def convert(arg: bytes) -> int:
        count = parse_int(arg)
        if count < minimum:
            raise CommandError(errors.SYNTAX)
        return count
    return convert


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


# ----------------------------------------------------------------------------------------------------------- options
class Options:
    """A command's optional tokens, declared as Redis documents them and parsed left to right as Redis' own loops
    parse them (fakeredis' ``extract_args`` and redka's parser are the models).

    ``Options("[cond: NX | XX] [GET] [expire: EX seconds | PX milliseconds | EXAT unix-time | KEEPTTL]")``: each
    bracket is a group of alternatives, of which a request may give one (again and again: the last one wins, as in
    Redis); a token followed by lowercase words takes that many arguments; ``label:`` names the group. Tokens match
    without case. ``parse`` returns a dict: each token given → its argument (``True`` for a bare token, a tuple for
    several arguments, or what its converter returned), and each label → the token chosen in its group.

    Errors come in the order Redis gives them: the first argument that is no token of the declaration, lacks its
    arguments, or is a second alternative of a group answers ``error`` (the syntax error, or ``error(argument)``
    when it is a function); a converter (``convert={"COUNT": fn}``, ``fn(*arguments)``) runs when its token is met,
    so its error comes before those of later arguments. Checks that look at the whole (EXPIRE's NX with GT) are the
    handler's, after ``parse``.
    """

    __slots__ = ("_tokens", "_error")

    def __init__(self, syntax: str, *, convert: Optional[dict] = None, error=errors.SYNTAX) -> None:
        convert = convert or {}
        # token (bytes, uppercase) -> (name, number of arguments, group, group label, converter)
        self._tokens: dict[bytes, tuple] = {}
        for group, body in enumerate(re.findall(r"\[([^\]]*)\]", syntax)):
            named = re.match(r"\s*([a-z][\w-]*):\s", body)   # "cond: NX | XX" (not "ADDR ip:port")
            label = named.group(1) if named else None
            if named:
                body = body[named.end():]
            for alternative in body.split("|"):
                name, *args = alternative.split()
                self._tokens[name.encode()] = (name, len(args), group, label, convert.get(name))
        self._error = error

    def parse(self, argv: list[bytes], start: int, convert: Optional[dict] = None) -> dict:
        """The options in ``argv[start:]``; ``convert`` adds converters for this call (ones needing the session)."""
        found: dict = {}
        chosen: dict[int, str] = {}
        tokens = self._tokens
        i, n = start, len(argv)
        while i < n:
            tok = tokens.get(argv[i].upper())
            if tok is None:
                self._fail(argv[i])
            name, nargs, group, label, fn = tok
            if i + nargs >= n or chosen.setdefault(group, name) != name:
                self._fail(argv[i])
            if label is not None:
                found[label] = name
            if nargs == 0:
                found[name] = True
                i += 1
                continue
            if convert is not None and name in convert:
                fn = convert[name]
            if nargs == 1:
                value = argv[i + 1]
                found[name] = value if fn is None else fn(value)
            else:
                values = argv[i + 1:i + 1 + nargs]
                found[name] = tuple(values) if fn is None else fn(*values)
            i += 1 + nargs
        return found

    def _fail(self, arg: bytes):
        error = self._error
        raise CommandError(error if isinstance(error, (str, bytes)) else error(arg))


_U64 = (1 << 64) - 1


def parse_scan_cursor(raw: bytes) -> int:
    """A SCAN-family cursor as Redis' parseScanCursorOrReply reads it (strtoul): optional sign, decimal digits
    (leading zeros allowed; the empty string is 0), no leading space; a negative number wraps modulo 2^64; past
    2^64 - 1 is an error."""
    body = raw[1:] if raw[:1] in (b"+", b"-") else raw
    if (body and not body.isdigit()) or (raw and not body):
        raise CommandError(errors.INVALID_CURSOR)
    digits = body.lstrip(b"0")
    if len(digits) > 20:  # (and int() refuses more than 4300 digits)
        raise CommandError(errors.INVALID_CURSOR)
    value = int(digits) if digits else 0
    if value > _U64:
        raise CommandError(errors.INVALID_CURSOR)
    return (-value) & _U64 if raw[:1] == b"-" else value
