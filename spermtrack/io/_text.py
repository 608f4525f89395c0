"""Fast, strict reading of whitespace- or comma-separated text tables spread over many files.

Shared by :mod:`spermtrack.io.visem` (one small label file per frame) and
:mod:`spermtrack.io.mot` (one MOTChallenge file). The work is split in three:

1. :func:`scan_rows` (Numba) walks the raw bytes of all files once, drops blank
   lines, rewrites every row as tokens separated by one space, and records for
   each row its file, its 1-based line number and its number of fields;
2. the numbers are converted by pandas' C parser in one call over that
   normalised buffer (it is correctly rounded on the inputs tested in
   ``tests/test_io_text.py``); if it refuses a token, the pure-Python
   :func:`_convert_slow` converts every row with :func:`float` and names the
   first bad one;
3. callers check values vectorised and report a bad row with :func:`row_error`,
   which knows the file, the line and the line's text.

Files of plain decimal numbers (MOTChallenge files, untracked label files) take a
shorter path: :func:`parse_plain_numbers` (Numba) parses them in one pass, with
Clinger's exact fast path (correctly rounded, as ``float``), and gives up on any
other token, after which the general path above runs and reports the error. The
rows for an error message are then scanned lazily (:class:`LazyRows`).

Nothing here loops in Python over rows unless a file is malformed.
"""

from __future__ import annotations

import csv
import errno
import io
import math
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from ..errors import FormatError

_SPACE, _TAB, _LF, _VT, _FF, _CR, _COMMA = 32, 9, 10, 11, 12, 13, 44
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_S_IFMT, _S_IFDIR, _S_IFREG = stat.S_IFMT(0o7777777), stat.S_IFDIR, stat.S_IFREG


@numba.njit(cache=True)
def scan_rows(
    buf, file_starts, comma_is_separator, out, row_start, row_file, row_line, row_nfields, letters
):  # pragma: no cover - numba
    """Normalise ``buf`` into one row per non-blank line (Numba kernel).

    Parameters
    ----------
    buf : uint8 array (N,)
        The bytes of all files, concatenated.
    file_starts : int64 array (F + 1,)
        File ``k`` is ``buf[file_starts[k]:file_starts[k + 1]]``.
    comma_is_separator : bool
        Treat ``,`` like white space (MOTChallenge files).
    out : uint8 array (>= N + F,)
        Receives the rows, tokens separated by one space, each row ending in ``\\n``.
    row_start, row_file, row_line, row_nfields : int64 arrays (>= number of lines)
        Receive, per row, its offset in ``out``, its file index, its 1-based line
        number inside that file and its number of fields.
    letters : int64 array (2,)
        Receives the number of first fields, and of other fields, holding an ASCII
        letter other than ``e``/``E`` (a number never does; ``True``, ``nan``, ``inf``
        and text do).

    Returns
    -------
    (n_rows, n_out) : the number of rows and of bytes written to ``out``.
    """
    r = 0
    o = 0
    letters[0] = 0
    letters[1] = 0
    for fi in range(file_starts.shape[0] - 1):
        i = file_starts[fi]
        end = file_starts[fi + 1]
        line = 1
        while i < end:
            nf = 0
            start_o = o
            in_token = False
            lettered = False
            while i < end and buf[i] != _LF:
                c = buf[i]
                if c == _SPACE or c == _TAB or c == _CR or c == _VT or c == _FF or (comma_is_separator and c == _COMMA):
                    in_token = False
                else:
                    if not in_token:
                        if nf > 0:
                            out[o] = _SPACE
                            o += 1
                        nf += 1
                        in_token = True
                        lettered = False
                    if not lettered and ((65 <= c <= 90) or (97 <= c <= 122)) and c != 101 and c != 69:
                        lettered = True
                        letters[0 if nf == 1 else 1] += 1
                    out[o] = c
                    o += 1
                i += 1
            if nf > 0:
                out[o] = _LF
                o += 1
                row_start[r] = start_o
                row_file[r] = fi
                row_line[r] = line
                row_nfields[r] = nf
                r += 1
            i += 1  # the '\n'
            line += 1
    return r, o


_POW10 = np.array([10.0**k for k in range(23)])  # exact in float64
# byte classes of parse_numbers: 0 digit, 1 separator, 2 newline, 3 '-', 4 '+', 5 '.', 6 'e'/'E', 7 anything else
_NUMBER_BYTES = np.full(256, 7, np.uint8)
_NUMBER_BYTES[48:58] = 0
_NUMBER_BYTES[[_SPACE, _TAB, _CR, _VT, _FF]] = 1
_NUMBER_BYTES[_LF] = 2
_NUMBER_BYTES[[45, 43, 46, 101, 69]] = [3, 4, 5, 6, 6]
_NUMBER_BYTES_COMMA = _NUMBER_BYTES.copy()
_NUMBER_BYTES_COMMA[_COMMA] = 1


_TWO53 = 2**53
_SPLIT = 134217729.0  # 2**27 + 1, Veltkamp's splitter


@numba.njit(cache=True)
def _long_quotient(m, p):  # pragma: no cover - numba
    """The correctly rounded double of ``m / p`` for an integer ``2**53 < m < 10**18`` and ``p = 10**q`` (q <= 22).

    ``m`` is not a double: it is split exactly into ``mh + ml``; ``q1 = mh / p`` and its
    exact remainder (Dekker's product) give the quotient as ``q1 + q2`` with ``q2``
    within two roundings of the rest. ``s = q1 + q2`` rounded is the correctly rounded
    quotient unless the exact sum lies within that error of a rounding boundary (half
    an ulp away from ``s``) or ``s`` is a power of two: then ``ok`` is False and the
    caller takes the general path.

    Returns
    -------
    (value, ok)
    """
    mh = float(m)
    ml = float(m - np.int64(mh))  # |ml| <= 64: exact
    q1 = mh / p
    ph = q1 * p
    c = _SPLIT * q1
    ah = c - (c - q1)
    al = q1 - ah
    c = _SPLIT * p
    bh = c - (c - p)
    bl = p - bh
    pl = ((ah * bh - ph) + ah * bl + al * bh) + al * bl  # q1 * p == ph + pl exactly
    rem = (mh - ph) - pl  # the exact remainder of the rounded division
    q2 = (rem + ml) / p
    s = q1 + q2
    err = q2 - (s - q1)  # s + err == q1 + q2 exactly (|q1| >= |q2|)
    bits = np.float64(s).view(np.int64)
    if bits & 0xFFFFFFFFFFFFF == 0:  # a power of two: the ulp below is half the ulp above
        return s, False
    ulp = np.int64((((bits >> 52) & 0x7FF) - 52) << 52).view(np.float64)  # s > 2**-900: a normal ulp
    # the true quotient is s + err + d, |d| <= 2 roundings of q2 (bounded with a margin of 4)
    if 0.5 * ulp - abs(err) <= abs(q2) * 2.0**-50:
        return s, False
    return s, True


@numba.njit(cache=True)
def parse_numbers(
    buf, file_starts, table, pow10, values, row_file, row_line, row_nfields, text_start, text_end
):  # pragma: no cover - numba
    """Parse rows of plain decimal numbers straight into ``values`` (Numba kernel), or give up.

    The rows are those :func:`scan_rows` finds (blank lines skipped, same file and
    line numbers). Each token must be ``[+-]digits[.digits][(e|E)[+-]digits]``
    with at most 18 significant digits and a decimal exponent within +-22 once the fraction
    is folded in. A mantissa up to 2**53 makes ``mantissa * 10**k`` or
    ``mantissa / 10**k`` one IEEE operation on two exact doubles, so the result is
    the correctly rounded value of the decimal text (Clinger's fast path), what
    Python's ``float`` gives; a longer mantissa with a negative exponent (the
    17-digit ``repr`` of a fraction) goes through :func:`_long_quotient`, exact or
    refused. Anything else (a longer number, ``inf``, text, more than
    ``values.shape[1]`` fields on a line, more rows than ``values`` has) returns
    ``ok = False`` and the caller falls back to the general path, which also
    produces the error messages. With ``text_start``/``text_end`` of one entry
    per possible row (empty arrays otherwise) the first field of each row is text:
    its byte range is recorded there and the numbers go to ``values[r, nf - 1]``.
    Every file's bytes must end with ``\\n``
    (:func:`read_files` ensures it). ``table`` classifies bytes (``_NUMBER_BYTES``,
    or ``_NUMBER_BYTES_COMMA`` where commas separate fields).

    Returns
    -------
    (n_rows, ok)
    """
    first_is_text = text_start.shape[0] > 0
    max_fields = values.shape[1] + (1 if first_is_text else 0)
    max_rows = values.shape[0]
    r = 0
    for fi in range(file_starts.shape[0] - 1):
        i = file_starts[fi]
        end = file_starts[fi + 1]
        line = 1
        nf = 0
        while i < end:
            t = table[buf[i]]
            if t == 1:
                i += 1
                continue
            if t == 2:
                if nf > 0:
                    row_file[r] = fi
                    row_line[r] = line
                    row_nfields[r] = nf
                    r += 1
                    nf = 0
                line += 1
                i += 1
                continue
            if nf >= max_fields or r >= max_rows:
                return r, False
            if first_is_text and nf == 0:  # the row's first field is text (a track id): any bytes
                text_start[r] = i
                while table[buf[i]] != 1 and table[buf[i]] != 2:
                    i += 1
                text_end[r] = i
                nf = 1
                continue
            neg = t == 3
            if t == 3 or t == 4:
                i += 1
            # every file region ends with a newline (checked by the caller), which stops these loops
            m = 0
            s0 = i
            while True:
                d = np.int64(buf[i]) - 48
                if d < 0 or d > 9:
                    break
                m = m * 10 + d
                i += 1
            digits = i - s0
            frac = 0
            if table[buf[i]] == 5:
                i += 1
                s1 = i
                while True:
                    d = np.int64(buf[i]) - 48
                    if d < 0 or d > 9:
                        break
                    m = m * 10 + d
                    i += 1
                frac = i - s1
                digits += frac
            if digits == 0:
                return r, False
            if digits > 18:  # m may have overflowed: recount without the leading zeros
                m = 0
                sig = 0
                for j in range(s0, i):
                    d = np.int64(buf[j]) - 48
                    if 0 <= d <= 9 and (m > 0 or d > 0):
                        sig += 1
                        if sig > 18:  # <= 18 significant digits cannot overflow int64
                            return r, False
                        m = m * 10 + d
            e = 0
            if table[buf[i]] == 6:
                i += 1
                eneg = False
                if table[buf[i]] == 3 or table[buf[i]] == 4:
                    eneg = table[buf[i]] == 3
                    i += 1
                s2 = i
                while True:
                    d = np.int64(buf[i]) - 48
                    if d < 0 or d > 9:
                        break
                    if e < 10000:
                        e = e * 10 + d
                    i += 1
                if i == s2:
                    return r, False
                if eneg:
                    e = -e
            if table[buf[i]] > 2:
                return r, False  # the token goes on with something else
            k = e - frac
            if m == 0:
                v = 0.0
            elif m <= _TWO53 and 0 <= k <= 22:
                v = float(m) * pow10[k]
            elif m <= _TWO53 and -22 <= k < 0:
                v = float(m) / pow10[-k]
            elif -22 <= k < 0:
                v, exact = _long_quotient(m, pow10[-k])
                if not exact:
                    return r, False
            else:
                return r, False
            values[r, nf - 1 if first_is_text else nf] = -v if neg else v
            nf += 1
    return r, True


@dataclass
class Rows:
    """The non-blank rows of a set of text files, normalised and located.

    Attributes
    ----------
    text : bytes
        Rows separated by ``\\n``, tokens by one space.
    start : int64 array (R + 1,)
        Row ``r`` is ``text[start[r]:start[r + 1] - 1]``.
    file : int64 array (R,)
        Index into ``paths`` of the file each row comes from.
    line : int64 array (R,)
        1-based line number of each row inside its file.
    nfields : int64 array (R,)
        Number of fields of each row.
    paths : list of Path
        The files, in the order they were read.
    letters : (int, int) or None
        First fields, and other fields, holding a letter other than ``e``/``E``
        (from :func:`scan_rows`); None when unknown.
    source : bytes-like or None
        The buffer the rows were scanned from (:func:`read_files`), for :meth:`line_text`.
    file_starts : int64 array (len(paths) + 1,) or None
        Where each file starts in ``source``.
    """

    text: bytes
    start: np.ndarray
    file: np.ndarray
    line: np.ndarray
    nfields: np.ndarray
    paths: list[Path]
    letters: tuple[int, int] | None = None
    source: object = None
    file_starts: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.file.shape[0])

    def row_text(self, r: int) -> str:
        """The normalised text of row ``r`` (tokens separated by one space)."""
        raw = self.text[int(self.start[r]) : int(self.start[r + 1]) - 1]
        return _shown_line(raw)

    def line_text(self, r: int) -> str:
        """Row ``r``'s line as it is in its file (separators kept, line end dropped), for error messages.

        Falls back to :meth:`row_text` when the rows were made without their source buffer.
        """
        if self.source is None or self.file_starts is None:
            return self.row_text(r)
        arr = np.frombuffer(self.source, dtype=np.uint8)
        f = int(self.file[r])
        begin, end = int(self.file_starts[f]), int(self.file_starts[f + 1])
        ends = np.flatnonzero(arr[begin:end] == _LF)  # every file ends in a newline in the buffer
        k = int(self.line[r]) - 1
        if k >= len(ends):  # pragma: no cover - rows come from this buffer
            return self.row_text(r)
        lo = begin if k == 0 else begin + int(ends[k - 1]) + 1
        raw = bytes(arr[lo : begin + int(ends[k])])
        return _shown_line(raw.rstrip(b"\r"))

    def rows_per_file(self) -> np.ndarray:
        """Number of rows of each file, shape ``(len(paths),)``."""
        return np.bincount(self.file, minlength=len(self.paths)).astype(np.int64)


def _shown_line(raw: bytes) -> str:
    """A line for an error message: decoded (bad bytes replaced) and cut at 200 characters."""
    s = raw.decode("utf-8", errors="replace")
    return s if len(s) <= 200 else s[:200] + "..."


class LazyRows:
    """The :class:`Rows` of a buffer, scanned only when something asks for them (an error message).

    :func:`parse_plain_numbers` finds the same rows in the same order as :func:`scan`,
    so its row ``r`` is row ``r`` here: :func:`row_error` names the same file, line
    and line text as on the general path.
    """

    def __init__(self, buf: bytes, file_starts: np.ndarray, paths, comma_is_separator: bool) -> None:
        self._args = (buf, file_starts, paths, comma_is_separator)
        self._rows: Rows | None = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if self._rows is None:
            self._rows = scan(*self._args)
        return getattr(self._rows, name)


@dataclass
class PlainRows:
    """Rows of numbers parsed by :func:`parse_plain_numbers`.

    Attributes
    ----------
    values : float64 array (R, max_fields)
        Row ``r``'s numbers in ``values[r, :nfields[r]]`` (``nfields[r] - 1`` of them
        after a text field); the rest is undefined.
    nfields, file, line : int64 arrays (R,)
        Fields (the text field included), file index and 1-based line of each row.
    rows : LazyRows
        The same rows, for error messages.
    text_codes : int64 array (R,) or None
        With ``first_is_text``: the code of each row's first field, numbered by first
        appearance; ``text_uniques[code]`` is the field as ``str``.
    text_uniques : list of str or None
    """

    values: np.ndarray
    nfields: np.ndarray
    file: np.ndarray
    line: np.ndarray
    rows: LazyRows
    text_codes: np.ndarray | None = None
    text_uniques: list[str] | None = None


def parse_plain_numbers(
    buf: bytes,
    file_starts: np.ndarray,
    paths: Sequence[str | os.PathLike],
    max_fields: int,
    comma_is_separator: bool = False,
    min_fields: int = 1,
    first_is_text: bool = False,
) -> PlainRows | None:
    """Rows of plain decimal numbers (the common case) parsed in one Numba pass, or None.

    None when a token is not a plain decimal number that :func:`parse_numbers` converts
    exactly, a row has more than ``max_fields`` fields, there are more rows than rows
    of ``min_fields`` fields fit in the buffer, or (``first_is_text``) a first field
    holds a NUL byte or is not UTF-8: the caller then takes the
    general path (:func:`scan` + :func:`convert`), which also reports errors. The values
    are the correctly rounded doubles of the text, as Python's ``float`` gives them.
    ``max_fields`` counts the text field.
    """
    arr = np.frombuffer(buf, dtype=np.uint8)
    max_rows = len(buf) // (2 * max(1, min_fields)) + len(paths) + 1  # a row of k fields takes >= 2k bytes
    values = np.empty((max_rows, max_fields - int(first_is_text)), np.float64)
    row_file = np.empty(max_rows, np.int64)
    row_line = np.empty(max_rows, np.int64)
    row_nf = np.empty(max_rows, np.int64)
    text_start = np.empty(max_rows if first_is_text else 0, np.int64)
    text_end = np.empty(max_rows if first_is_text else 0, np.int64)
    table = _NUMBER_BYTES_COMMA if comma_is_separator else _NUMBER_BYTES
    starts = np.asarray(file_starts, np.int64)
    nonempty = starts[1:] > starts[:-1]
    if not (arr[starts[1:][nonempty] - 1] == _LF).all():  # the kernel relies on it (read_files ensures it)
        return None
    n, ok = parse_numbers(arr, starts, table, _POW10, values, row_file, row_line, row_nf, text_start, text_end)
    if not ok:
        return None
    codes = uniques = None
    if first_is_text:
        factorised = _factorise_fields(arr, text_start[:n], text_end[:n])
        if factorised is None:
            return None
        codes, uniques = factorised
    lazy = LazyRows(buf, file_starts, paths, comma_is_separator)
    return PlainRows(values[:n], row_nf[:n], row_file[:n], row_line[:n], lazy, codes, uniques)


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@numba.njit(cache=True)
def _hash_fields(buf, start, end, out):  # pragma: no cover - numba
    """FNV-1a hash of each byte range ``buf[start[r]:end[r]]`` into ``out``; False if one holds a NUL byte."""
    for r in range(start.shape[0]):
        h = _FNV_OFFSET
        for j in range(start[r], end[r]):
            c = buf[j]
            if c == 0:
                return False
            h = (h ^ np.uint64(c)) * _FNV_PRIME
        out[r] = h
    return True


@numba.njit(cache=True)
def _first_rows_match(buf, start, end, codes, n_codes, first):  # pragma: no cover - numba
    """First row of each code into ``first``; True when every row's bytes equal its code's first row's."""
    for k in range(n_codes):
        first[k] = -1
    for r in range(codes.shape[0]):
        c = codes[r]
        f = first[c]
        if f < 0:
            first[c] = r
            continue
        n = end[r] - start[r]
        if n != end[f] - start[f]:
            return False
        for j in range(n):
            if buf[start[r] + j] != buf[start[f] + j]:
                return False
    return True


def _factorise_fields(arr: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Codes (by first appearance) and ``str`` values of the byte ranges ``arr[start:end]``, or None.

    The fields are hashed (Numba), factorised with pandas, then checked byte for byte
    against the first field of their code, so a hash collision cannot merge two ids
    (it returns None). None also for a field holding a NUL byte or not UTF-8.
    """
    import pandas as pd

    n = start.shape[0]
    h = np.empty(n, np.uint64)
    if not _hash_fields(arr, start, end, h):
        return None
    codes, hashes = pd.factorize(h, sort=False)
    codes = codes.astype(np.int64)
    first = np.empty(len(hashes), np.int64)
    if not _first_rows_match(arr, start, end, codes, len(hashes), first):
        return None
    try:
        uniques = [arr[start[i] : end[i]].tobytes().decode("utf-8") for i in first.tolist()]
    except UnicodeDecodeError:
        return None
    return codes, uniques


def row_error(rows: Rows, r: int, message: str) -> FormatError:
    """A :class:`FormatError` for row ``r``: file, line and the line's text as it is in the file."""
    return FormatError(f"{message}: '{rows.line_text(r)}'", rows.paths[int(rows.file[r])], int(rows.line[r]))


def read_files(paths: Sequence[str | os.PathLike]) -> tuple[np.ndarray, np.ndarray]:
    """Read files into one buffer; returns ``(buffer, file_starts)`` (int64, ``len(paths) + 1``).

    The buffer is a uint8 array (bytes-like: ``np.frombuffer`` and ``len`` take it).
    A file that does not end in a newline gets one, so that rows never run across
    files; a UTF-8 byte-order mark is dropped. Each file is read straight into the
    buffer with ``os.readv`` (no Python file object, no copy per file): one buffer for
    the thousands of small label files of a video costs little more than reading them.
    """
    starts = np.zeros(len(paths) + 1, np.int64)
    buf = np.empty(1 << 16, np.uint8)
    view = memoryview(buf)  # slices of a memoryview are cheaper than of an array
    pos = 0
    bom = b"\xef\xbb\xbf"
    for k, p in enumerate(paths):
        fd = os.open(p, _READ_FLAGS)
        try:
            st = os.fstat(fd)
            kind = st.st_mode & _S_IFMT
            if kind == _S_IFDIR:  # as open() says it
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fsdecode(p))
            regular = kind == _S_IFREG
            begin = pos
            want = st.st_size + 1 if regular else 1 << 16  # a regular file: its size and one byte to see its end
            while True:
                if pos + want >= len(buf):  # room for the read and a closing newline
                    grown = np.empty(max(2 * len(buf), pos + want + 1), np.uint8)
                    grown[:pos] = buf[:pos]
                    buf = grown
                    view = memoryview(buf)
                got = os.readv(fd, [view[pos : pos + want]])
                pos += got
                if got == 0 or (regular and got < want):  # a regular file's short read is its end
                    break
                want = 1 << 16
        finally:
            os.close(fd)
        if pos > begin:
            if pos - begin >= 3 and view[begin] == 0xEF and view[begin : begin + 3] == bom:  # a UTF-8 byte-order mark
                view[begin : pos - 3] = bytes(view[begin + 3 : pos])
                pos -= 3
            if pos > begin and view[pos - 1] != _LF:
                view[pos] = _LF
                pos += 1
        starts[k + 1] = pos
    return buf[:pos], starts


def scan(buf: bytes, file_starts: np.ndarray, paths: Sequence[str | os.PathLike], comma_is_separator: bool = False) -> Rows:
    """Split ``buf`` (from :func:`read_files`) into located, normalised rows."""
    paths = [p if isinstance(p, Path) else Path(p) for p in paths]
    arr = np.frombuffer(buf, dtype=np.uint8)
    max_rows = int(np.count_nonzero(arr == _LF)) + len(paths) + 1
    out = np.empty(len(buf) + len(paths) + 1, np.uint8)
    row_start = np.empty(max_rows + 1, np.int64)
    row_file = np.empty(max_rows, np.int64)
    row_line = np.empty(max_rows, np.int64)
    row_nf = np.empty(max_rows, np.int64)
    letters = np.zeros(2, np.int64)
    n, o = scan_rows(
        arr, np.asarray(file_starts, np.int64), comma_is_separator, out, row_start, row_file, row_line, row_nf, letters
    )
    row_start[n] = o
    return Rows(
        out[:o].tobytes(),
        row_start[: n + 1],
        row_file[:n],
        row_line[:n],
        row_nf[:n],
        paths,
        (int(letters[0]), int(letters[1])),
        buf,
        np.asarray(file_starts, np.int64),
    )


def check_field_count(rows: Rows, allowed: Sequence[int], what: str) -> None:
    """Raise :class:`FormatError` at the first row whose field count is not in ``allowed``."""
    bad = ~np.isin(rows.nfields, np.asarray(allowed))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        allowed = sorted(int(a) for a in allowed)
        contiguous = allowed == list(range(allowed[0], allowed[-1] + 1))
        want = f"{allowed[0]} to {allowed[-1]}" if contiguous and len(allowed) > 2 else " or ".join(map(str, allowed))
        raise row_error(rows, r, f"expected {want} fields ({what}), found {int(rows.nfields[r])}")


def convert(rows: Rows, ncols: int, first_is_text: bool = False) -> tuple[np.ndarray | None, np.ndarray]:
    """Convert rows that all have ``ncols`` fields.

    Returns
    -------
    text : object array (R,) or None
        The first field as ``str`` when ``first_is_text``.
    values : float64 array (R, ncols - first_is_text)
        The numeric fields. Non-finite values are rejected here, naming file and line.
    """
    n = len(rows)
    nnum = ncols - int(first_is_text)
    if n == 0:
        return (np.zeros(0, object) if first_is_text else None), np.zeros((0, nnum), np.float64)
    try:
        if rows.letters is None:
            suspect = _maybe_boolean(rows.text)
        else:  # a numeric field with a letter (True, nan, inf, text): let float() judge it
            suspect = rows.letters[1] > 0 or (not first_is_text and rows.letters[0] > 0)
        if suspect:
            raise ValueError("pandas would read true/false as 1/0")
        text, values = _convert_fast(rows, ncols, first_is_text)
    except (ValueError, UnicodeDecodeError, OverflowError):
        text, values = _convert_slow(rows, ncols, first_is_text)
    finite = np.isfinite(values).all(axis=1)
    if not finite.all():
        r = int(np.flatnonzero(~finite)[0])
        raise row_error(rows, r, "a value is not a finite number")
    return text, values


_BOOLEAN_ENDS = tuple(w + end for w in (b"rue", b"RUE", b"alse", b"ALSE") for end in (b" ", b"\n"))


def _maybe_boolean(text: bytes) -> bool:
    """True when a token may be ``True``/``false``/...: pandas' C parser reads those as 1/0, Python's float does not."""
    return any(s in text for s in _BOOLEAN_ENDS)


def _convert_fast(rows: Rows, ncols: int, first_is_text: bool):
    import pandas as pd

    dtype: dict[int, object] = {k: np.float64 for k in range(ncols)}
    if first_is_text:
        dtype[0] = object  # plain Python str objects: twice as fast as pandas' "str" dtype here
    df = pd.read_csv(
        io.BytesIO(rows.text),
        sep=" ",
        header=None,
        names=list(range(ncols)),
        dtype=dtype,
        na_filter=False,
        quoting=csv.QUOTE_NONE,
        engine="c",
        encoding="utf-8",
        skip_blank_lines=False,
    )
    if len(df) != len(rows):  # pragma: no cover - guarded by the scanner
        raise ValueError("row count mismatch")
    first = int(first_is_text)
    values = df.iloc[:, first:].to_numpy(dtype=np.float64)
    text = df[0].to_numpy(dtype=object) if first_is_text else None
    return text, values


def _convert_slow(rows: Rows, ncols: int, first_is_text: bool):
    """Python reference conversion: ``float`` on every token; raises at the first bad one."""
    n = len(rows)
    first = int(first_is_text)
    values = np.empty((n, ncols - first), np.float64)
    text = np.empty(n, object) if first_is_text else None
    for r in range(n):
        raw = rows.text[int(rows.start[r]) : int(rows.start[r + 1]) - 1]
        try:
            tokens = raw.decode("utf-8").split(" ")
        except UnicodeDecodeError:
            raise row_error(rows, r, "the line is not UTF-8 text") from None
        if first_is_text:
            text[r] = tokens[0]
        for k, tok in enumerate(tokens[first:]):
            try:
                values[r, k] = float(tok)
            except ValueError:
                raise row_error(rows, r, f"field {k + first + 1} ('{tok}') is not a number") from None
    return text, values


def whole_numbers(rows: Rows, values: np.ndarray, name: str, minimum: float, maximum: float = 2**53 - 1) -> np.ndarray:
    """Check that ``values`` (R,) are whole numbers from ``minimum`` to ``maximum`` and return them as int64."""
    in_range = (values >= minimum) & (values < 2**53)
    whole = np.where(in_range, values, 0.0).astype(np.int64)  # exact below 2**53: equal back iff whole
    ok = in_range & (whole == values)
    if not ok.all():
        r = int(np.flatnonzero(~ok)[0])
        raise row_error(rows, r, f"{name} must be a whole number >= {minimum:g}, got {values[r]:g}")
    if (whole > maximum).any():
        r = int(np.flatnonzero(whole > maximum)[0])
        raise row_error(rows, r, f"{name} is {whole[r]:,}, above the largest spermtrack reads ({int(maximum):,})")
    return whole


@numba.njit(cache=True)
def yolo_box_columns(values, first, width, height, frames, row_file, num_frames):  # pragma: no cover - numba
    """Box columns from normalised ``cx cy w h`` rows (Numba kernel, for :mod:`spermtrack.io.labels`).

    ``values[r, first:first + 4]`` are row ``r``'s ``cx, cy, w, h`` (normalised), its class in
    ``values[r, first - 1]`` (a whole number, checked by the caller), its frame
    ``frames[row_file[r]]``. The pixel corners are computed as ``Boxes.from_cxcywh``
    does (``cx * W -/+ (w * W) / 2`` in float64, then rounded to float32), so the table
    is the same to the bit. Returns ``ok`` (every corner finite, ``x2 >= x1``,
    ``y2 >= y1``, frames sorted and in ``[0, num_frames)``: what ``Boxes`` checks) and the
    columns ``frame`` (int32), ``x1, y1, x2, y2`` (float32) and ``cls`` (int16).
    """
    n = values.shape[0]
    frame = np.empty(n, np.int32)
    x1 = np.empty(n, np.float32)
    y1 = np.empty(n, np.float32)
    x2 = np.empty(n, np.float32)
    y2 = np.empty(n, np.float32)
    cls = np.empty(n, np.int16)
    ok = True
    prev = 0
    for r in range(n):
        f = frames[row_file[r]]
        if f < prev or f >= num_frames or f > 2147483647:
            ok = False
        prev = f
        frame[r] = f
        cx = values[r, first] * width
        cy = values[r, first + 1] * height
        hw = (values[r, first + 2] * width) / 2.0
        hh = (values[r, first + 3] * height) / 2.0
        a = np.float32(cx - hw)
        b = np.float32(cy - hh)
        c = np.float32(cx + hw)
        d = np.float32(cy + hh)
        if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(c) and np.isfinite(d) and c >= a and d >= b):
            ok = False
        x1[r] = a
        y1[r] = b
        x2[r] = c
        y2[r] = d
        cls[r] = np.int16(values[r, first - 1])
    return ok, frame, x1, y1, x2, y2, cls


# --------------------------------------------------------------------------- writing numbers


def shortest_decimals(value: np.ndarray, target: np.ndarray, base: np.ndarray | None = None, max_decimals: int = 9) -> list[str]:
    """Shortest fixed-point strings that read back to the same float32.

    For every element, find the fewest decimals ``k`` such that
    ``float32(base + float(f"{value:.{k}f}")) == target`` (``base`` 0 when
    omitted), falling back to the exact ``repr`` of ``value`` (float64).
    Used by the writers so that text files are short *and* read back to the
    identical float32 table (e.g. ``x2 = float32(float32(x) + w)`` in MOT).

    Parameters
    ----------
    value : float64 array (N,)
        The numbers to write.
    target : float32 array (N,)
        What a reader must get back.
    base : float64 array (N,), optional
        Added to the parsed number before rounding to float32.

    Examples
    --------
    >>> shortest_decimals(np.array([88.0, 113.83999633789062]), np.float32([88.0, 113.84]))
    ['88', '113.84']
    """
    value = np.asarray(value, np.float64)
    target = np.asarray(target, np.float32)
    base = np.zeros_like(value) if base is None else np.asarray(base, np.float64)
    n = value.shape[0]
    # 1. vectorised guess of the fewest decimals (np.round is not exactly decimal rounding: checked in 2.)
    k = np.full(n, -1, np.int64)
    todo = np.arange(n)
    with np.errstate(invalid="ignore", over="ignore"):
        for d in range(max_decimals + 1):
            ok = (base[todo] + np.round(value[todo], d)).astype(np.float32) == target[todo]
            k[todo[ok]] = d
            todo = todo[~ok]
            if todo.size == 0:
                break
    # 2. format with the guessed decimals and check by parsing, as a reader will
    vals = value.tolist()
    out = [f"{v:.{d}f}" if d >= 0 else "" for v, d in zip(vals, k.tolist())]
    guessed = np.flatnonzero(k >= 0)
    if guessed.size:
        back = np.array([float(out[i]) for i in guessed.tolist()], np.float64)
        good = (base[guessed] + back).astype(np.float32) == target[guessed]
        redo = np.concatenate([guessed[~good], np.flatnonzero(k < 0)])
    else:
        redo = np.flatnonzero(k < 0)
    # 3. the rare rest: try every precision exactly, else the float64 repr
    for i in redo.tolist():
        v = vals[i]
        out[i] = repr(v) if math.isfinite(v) else str(v)
        for d in range(max_decimals + 1):
            s = f"{v:.{d}f}"
            if np.float32(base[i] + float(s)) == target[i]:
                out[i] = s
                break
    return out
