"""The fast UTF-8 check of a long table (Arrow's validator past the first bytes) finds what
Python's decoder finds: the same files valid, the same first bad byte named."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fulian_eval.io import tables

pytest.importorskip("pyarrow")

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=40).map(
    lambda s: s.encode("utf-8")
)
JUNK = st.sampled_from(
    [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe4\xb8", b"\x80", b"\xf0\x9f"]
)


def _chunked(raw: bytes, size: int) -> list[bytes]:
    return [raw[i : i + size] for i in range(0, len(raw), size)] or [b""]


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(TEXT | JUNK, min_size=0, max_size=12),
    bom=st.booleans(),
    size=st.integers(1, 9),
    checked=st.integers(1, 20),
)
def test_the_fast_check_names_the_byte_the_decoder_names(
    parts: list[bytes], bom: bool, size: int, checked: int
) -> None:
    raw = (codecs.BOM_UTF8 if bom else b"") + b"".join(parts)
    chunks = _chunked(raw, size)
    expected = tables._first_bad(chunks, "utf-8")
    old = tables._PY_CHECKED
    tables._PY_CHECKED = checked  # the Arrow part starts after a few bytes
    try:
        got = tables._utf8_first_bad(lambda: iter(chunks))
    finally:
        tables._PY_CHECKED = old
    assert got == expected
    try:
        raw.decode("utf-8")
        assert got is None
    except UnicodeDecodeError as exc:
        assert got == exc.start


def test_a_character_cut_by_a_chunk_is_whole_in_the_next() -> None:
    zhong = "中".encode()  # three bytes
    assert tables._utf8_cut(b"ab" + zhong[:2]) == 2
    assert tables._utf8_cut(b"ab" + zhong) == 5
    assert tables._utf8_cut(b"ab") == 2
    assert tables._utf8_cut(b"\xf0\x9f\x98") == 0  # an emoji, one byte short


def test_a_long_gbk_table_is_still_read_as_gb18030(tmp_path) -> None:  # type: ignore[no-untyped-def]
    row = "青石村,12,活动室\n".encode("gbk")
    path = tmp_path / "t.csv"
    path.write_bytes(b"unit,x,y\n" + row * (3 * tables._PY_CHECKED // len(row)))
    assert tables.text_encoding(tables.file_chunks(path)) == "gb18030"
    bad = tmp_path / "u.csv"  # UTF-8 for 20 MB, then one byte that is not
    bad.write_bytes(b"unit,x\n" + b"a,1\n" * (5 * tables._PY_CHECKED // 4) + b"b,\xff\n")
    with pytest.raises(tables.FileProblem, match=str(7 + 4 * (5 * tables._PY_CHECKED // 4) + 2)):
        tables.text_encoding(tables.file_chunks(bad))
