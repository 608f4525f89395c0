"""spermtrack.io._text: the Numba row scanner and the number conversion, against plain Python."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spermtrack import FormatError
from spermtrack.io import _text


def _rows(tmp_path, contents: list[bytes], comma=False):
    paths = []
    for k, c in enumerate(contents):
        p = tmp_path / f"f{k}.txt"
        p.write_bytes(c)
        paths.append(p)
    buf, starts = _text.read_files(paths)
    return _text.scan(buf, starts, paths, comma_is_separator=comma), paths


def _python_rows(contents: list[bytes], comma=False):
    """The reference: what the scanner must find, computed with str methods."""
    out = []
    for k, c in enumerate(contents):
        for i, line in enumerate(c.split(b"\n"), 1):
            if comma:
                line = line.replace(b",", b" ")
            tokens = line.split()
            if tokens:
                out.append((k, i, b" ".join(tokens)))
    return out


def test_scanner_locates_rows(tmp_path):
    contents = [b"a b\n\n c\t d  e \r\n", b"", b"\n\n", b"x", b"1 2\n3 4\n"]
    rows, _ = _rows(tmp_path, contents)
    assert rows.rows_per_file().tolist() == [2, 0, 0, 1, 2]
    assert [(int(f), int(line), rows.row_text(r).encode()) for r, (f, line) in enumerate(zip(rows.file, rows.line))] == (
        _python_rows(contents)
    )
    assert rows.nfields.tolist() == [2, 3, 1, 2, 2]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=" \t\r\n,ab1.-", max_size=60), min_size=1, max_size=4), st.booleans())
def test_scanner_matches_python_split(tmp_path_factory, texts, comma):
    contents = [t.encode() for t in texts]
    rows, _ = _rows(tmp_path_factory.mktemp("scan"), contents, comma)
    expected = _python_rows(contents, comma)
    got = [(int(f), int(line), rows.row_text(r).encode()) for r, (f, line) in enumerate(zip(rows.file, rows.line))]
    assert got == expected
    assert rows.nfields.tolist() == [len(e[2].split(b" ")) for e in expected]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=50))
def test_conversion_is_exactly_pythons_float(tmp_path_factory, values):
    text = "".join(f"id{k} {v!r} {v:.6g} {v:.17e}\n" for k, v in enumerate(values)).encode()
    rows, _ = _rows(tmp_path_factory.mktemp("conv"), [text])
    ids, fast = _text.convert(rows, 4, first_is_text=True)
    _, slow = _text._convert_slow(rows, 4, first_is_text=True)
    reference = np.array([[float(t) for t in line.split()[1:]] for line in text.decode().splitlines()])
    np.testing.assert_array_equal(fast, reference)
    np.testing.assert_array_equal(slow, reference)
    assert ids.tolist() == [f"id{k}" for k in range(len(values))]


def test_conversion_of_many_real_looking_values_is_exact(tmp_path):
    """400,000 numbers as the VISEM export writes them (Python repr, up to 17 digits)."""
    rng = np.random.default_rng(0)
    n = 100_000
    v = np.concatenate([rng.random(n), rng.integers(0, 640, n) / 640.0, rng.random(n) * 1e-3, rng.random(n) * 640])
    vals = v.tolist()
    text = ("\n".join(" ".join(repr(x) for x in vals[i : i + 5]) for i in range(0, len(vals), 5)) + "\n").encode()
    rows, _ = _rows(tmp_path, [text])
    _, got = _text.convert(rows, 5)
    np.testing.assert_array_equal(got.ravel(), v)


def test_unconvertible_token_is_located(tmp_path):
    rows, paths = _rows(tmp_path, [b"1 2\n", b"\n3 4\n5 x5\n"])
    with pytest.raises(FormatError, match="field 2 \\('x5'\\) is not a number") as err:
        _text.convert(rows, 2)
    assert (err.value.path, err.value.line) == (paths[1], 3)


def test_non_utf8_is_located(tmp_path):
    rows, _ = _rows(tmp_path, [b"abc 1\n\xff\xfe 2\n"])
    with pytest.raises(FormatError, match="not UTF-8") as err:
        _text.convert(rows, 2, first_is_text=True)
    assert err.value.line == 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e4, 1e4, width=32), st.floats(0, 1e3, width=32)), min_size=1, max_size=30))
def test_shortest_decimals_read_back(pairs):
    x = np.array([p[0] for p in pairs], np.float32)
    x2 = (x + np.array([p[1] for p in pairs], np.float32)).astype(np.float32)
    xs = _text.shortest_decimals(x.astype(np.float64), x)
    assert np.array_equal(np.array([float(s) for s in xs]).astype(np.float32), x)
    ws = _text.shortest_decimals(x2.astype(np.float64) - x, x2, base=x.astype(np.float64))
    back = (x.astype(np.float64) + np.array([float(s) for s in ws])).astype(np.float32)
    assert np.array_equal(back, x2)
    assert all(len(s) <= 24 for s in xs + ws)


@pytest.mark.parametrize("token", ["TRUE", "false", "1_0x", "0x1p3", "1,5", "--1"])
def test_tokens_python_rejects_are_rejected(tmp_path, token):
    rows, paths = _rows(tmp_path, [b"0 1\n" + token.encode() + b" 2\n"])
    with pytest.raises(FormatError, match="is not a number") as err:
        _text.convert(rows, 2)
    assert (err.value.path, err.value.line) == (paths[0], 2)


def test_ids_that_look_boolean_do_not_break_the_ids(tmp_path):
    rows, _ = _rows(tmp_path, [b"cktrue 0.5\nckfalse 0.25\n"])
    ids, values = _text.convert(rows, 2, first_is_text=True)
    assert ids.tolist() == ["cktrue", "ckfalse"] and values.ravel().tolist() == [0.5, 0.25]


def test_byte_order_mark_is_ignored(tmp_path):
    rows, _ = _rows(tmp_path, [b"\xef\xbb\xbf1 2\n3 4\n"])
    np.testing.assert_array_equal(_text.convert(rows, 2)[1], [[1, 2], [3, 4]])


# --------------------------------------------------------------------------- the plain-number fast path


def _plain(tmp_path, contents: list[bytes], max_fields: int, comma=False):
    paths = []
    for k, c in enumerate(contents):
        p = tmp_path / f"p{k}.txt"
        p.write_bytes(c)
        paths.append(p)
    buf, starts = _text.read_files(paths)
    return _text.parse_plain_numbers(buf, starts, paths, max_fields, comma_is_separator=comma), _text.scan(
        buf, starts, paths, comma
    )


def _bits(a) -> np.ndarray:
    return np.asarray(a, np.float64).view(np.int64)  # tells -0.0 from 0.0


def _plain_token(draw_float: float, style: int) -> str:
    styles = (
        repr(draw_float),
        f"{draw_float:.3f}",
        f"{draw_float:.0f}",
        f"{draw_float:.4e}",
        f"{draw_float:+.2f}",
        f"{draw_float:.6g}",
    )
    return styles[style]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.integers(0, 5)), min_size=0, max_size=6),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from([" ", "\t", ",", " , ", "  "]),
    st.booleans(),
)
def test_plain_numbers_equal_pythons_float_and_the_scanner(tmp_path_factory, lines, sep, crlf):
    comma = "," in sep
    text = "".join(sep.join(_plain_token(v, s) for v, s in line) + ("\r\n" if crlf else "\n") for line in lines).encode()
    plain, rows = _plain(tmp_path_factory.mktemp("plain"), [text, b"\n" + text], 6, comma)
    tokens = [t for line in text.decode().split("\n") for t in line.replace(",", " ").split()]
    simple = all(len(t.lstrip("+-").split("e")[0].replace(".", "").lstrip("0")) <= 15 for t in tokens)
    if plain is None:
        assert not simple or any(abs(int(t.split("e")[1])) > 15 for t in tokens if "e" in t)
        return
    assert plain.file.tolist() == rows.file.tolist() and plain.line.tolist() == rows.line.tolist()
    assert plain.nfields.tolist() == rows.nfields.tolist()
    got = [plain.values[r, k] for r in range(len(plain.nfields)) for k in range(int(plain.nfields[r]))]
    expected = [float(t) for t in rows.text.decode().split()]
    np.testing.assert_array_equal(_bits(got), _bits(expected))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"-0 +5 .5 5. 1e5 1E-5 -2.50e+2 007\n", [-0.0, 5.0, 0.5, 5.0, 1e5, 1e-5, -250.0, 7.0]),
        (b"123456789012345 0.000000000000001 1e22 1e-22 0.1 0.2 0.3\n", [123456789012345.0, 1e-15, 1e22, 1e-22, 0.1, 0.2, 0.3]),
        (b"0.0000000000000000001 1234567890123456 0.30000000000000004\n", [1e-19, 1234567890123456.0, 0.30000000000000004]),
    ],
)
def test_plain_numbers_edge_tokens(tmp_path, text, expected):
    plain, _ = _plain(tmp_path, [text], 8)
    assert plain is not None
    np.testing.assert_array_equal(_bits(plain.values[0, : len(expected)]), _bits(expected))


@pytest.mark.parametrize(
    "token",
    [
        "1234567890123456789",  # 19 significant digits
        "0.12345678901234567891",
        "98765432109876543",  # beyond 2**53 and a whole number: no exact path
        "1e23",
        "9e-23",
        "inf",
        "nan",
        "True",
        "1e",
        ".",
        "-",
        "1.2.3",
        "1x",
        "0x10",
    ],
)
def test_plain_numbers_give_up_on_other_tokens(tmp_path, token):
    plain, _ = _plain(tmp_path, [b"1 2\n" + token.encode() + b" 3\n"], 2)
    assert plain is None


def test_plain_numbers_give_up_on_too_many_fields_and_rows(tmp_path):
    assert _plain(tmp_path, [b"1 2 3\n"], 2)[0] is None
    paths = [tmp_path / "rows.txt"]
    paths[0].write_bytes(b"1\n2\n3\n4\n")
    buf, starts = _text.read_files(paths)
    assert _text.parse_plain_numbers(buf, starts, paths, 1, min_fields=6) is None  # more rows than 6-field rows fit
    assert _text.parse_plain_numbers(buf, starts, paths, 1).values.ravel().tolist() == [1, 2, 3, 4]


def test_plain_rows_name_the_same_line_as_the_scanner(tmp_path):
    plain, rows = _plain(tmp_path, [b"\n1 2\n\n  \n3 -4\n"], 2)
    assert plain.line.tolist() == [2, 5]
    err = _text.row_error(plain.rows, 1, "bad")
    assert (err.line, str(err).endswith("bad: '3 -4'")) == (5, True)
    assert plain.rows.text == rows.text


def test_plain_numbers_read_17_digit_reprs_exactly(tmp_path):
    """The released label files hold Python reprs of fractions (up to 17 significant digits): exact, via _long_quotient."""
    rng = np.random.default_rng(3)
    v = np.concatenate([rng.random(30_000), rng.integers(1, 640, 10_000) / 640.0, rng.random(10_000) * 0.01 + 0.03])
    tokens = [repr(x) for x in v.tolist()]
    assert sum("e" not in t and int(t.replace(".", "")) > 2**53 for t in tokens) > 10_000  # many beyond 2**53
    text = ("\n".join(" ".join(tokens[i : i + 5]) for i in range(0, len(tokens), 5)) + "\n").encode()
    plain, _ = _plain(tmp_path, [text], 5)
    assert plain is not None
    np.testing.assert_array_equal(_bits(plain.values.ravel()), _bits([float(t) for t in tokens]))


def test_long_quotient_is_exact_or_refuses():
    """Decimals of 16-18 significant digits next to the midpoint between two doubles: never a wrong rounding."""
    from decimal import Decimal, getcontext

    getcontext().prec = 80
    rng = np.random.default_rng(4)
    checked = 0
    for x in (rng.random(3000) * 0.9 + 0.05).tolist():
        mid = (Decimal(x) + Decimal(float(np.nextafter(x, 2.0)))) / 2
        for places in (16, 17, 18):
            for text in (f"{mid:.{places}f}", f"{mid - Decimal(10) ** -places:.{places}f}"):
                m, q = int(text.replace(".", "")), len(text.split(".")[1])
                if m <= 2**53 or len(str(m)) > 18:
                    continue
                value, ok = _text._long_quotient(m, 10.0**q)
                checked += 1
                assert not ok or value == float(text), text
    assert checked > 10_000


def test_plain_rows_with_text_ids_equal_the_general_path(tmp_path):
    """labels_ftid rows (a string id, then numbers): ids factorised by first appearance, as pandas reads them."""
    rng = np.random.default_rng(5)
    names = ["ckabc", "cküñí-ç", "x" * 200, "a", "0.5", "True", "b1", "-7"]
    lines = [
        f"{names[int(k)]} {int(c)} {x!r} {y!r} 0.03593750000000001 0.5"
        for k, c, x, y in zip(
            rng.integers(0, len(names), 300), rng.integers(0, 3, 300), rng.random(300).tolist(), rng.random(300).tolist()
        )
    ]
    contents = ["\n".join(lines[:100]).encode(), b"\n\n", ("\r\n".join(lines[100:]) + "\n").encode()]
    paths = []
    for k, c in enumerate(contents):
        paths.append(tmp_path / f"t{k}.txt")
        paths[-1].write_bytes(c)
    buf, starts = _text.read_files(paths)
    plain = _text.parse_plain_numbers(buf, starts, paths, 6, min_fields=6, first_is_text=True)
    rows = _text.scan(buf, starts, paths)
    ids, values = _text.convert(rows, 6, first_is_text=True)
    assert plain is not None
    assert [plain.text_uniques[c] for c in plain.text_codes] == ids.tolist()
    assert plain.text_uniques == list(dict.fromkeys(ids.tolist()))  # numbered by first appearance
    np.testing.assert_array_equal(_bits(plain.values), _bits(values))
    assert plain.file.tolist() == rows.file.tolist() and plain.line.tolist() == rows.line.tolist()


@pytest.mark.parametrize("name", [b"a\x00b", b"\xff\xfe"])
def test_plain_rows_leave_odd_ids_to_the_general_path(tmp_path, name):
    p = tmp_path / "t.txt"
    p.write_bytes(b"ck1 0 0.5 0.5 0.1 0.1\n" + name + b" 0 0.5 0.5 0.1 0.1\n")
    buf, starts = _text.read_files([p])
    assert _text.parse_plain_numbers(buf, starts, [p], 6, min_fields=6, first_is_text=True) is None
