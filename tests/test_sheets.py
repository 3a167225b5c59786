"""Printable record sheets (审核记录表) and the ranking handout: the HTML itself, and printed by headless Chromium.

The bundled example (21 villages) is printed as a clerk would: ``sheets … -o 审核记录表.pdf``
and ``rank … -o 排名.pdf``; the PDF's pages and text are read back with pdftotext, and
the cells are measured in Chromium so that no column wraps one character per line.
The browser tests skip (with the reason) only where no Chromium can be found.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from fulian_eval.analysis.rank import rank
from fulian_eval.io.evidence import load_evidence
from fulian_eval.io.load import load_rulebook
from fulian_eval.report.pdf import dump_dom, find_chromium
from fulian_eval.report.sheets import record_sheets_html, shares
from fulian_eval.scoring.exact import fmt_hundredths, fmt_points, hundredths, score

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "town-village-2026.toml"
EVIDENCE = ROOT / "examples" / "town" / "evidence"
ERRORS = ROOT / "examples" / "town-errors"
N_UNITS = 21


def cli(
    *args: Any, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "fulian_eval", *(str(a) for a in args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
        env=env if env is not None else None,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def ranked() -> Any:
    rb = load_rulebook(RULES)
    es = load_evidence(rb, [EVIDENCE])
    return rb, es, rank(rb, [score(rb, ev) for ev in es.evidence])


@pytest.fixture(scope="module")
def sheets_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("sheets") / "审核记录表.html"
    p = cli("sheets", RULES, EVIDENCE, "-o", out, "--today", "2026-12-01")
    assert p.returncode == 0, p.stderr
    return out.read_text(encoding="utf-8")


def sections(doc: str) -> list[str]:
    return re.findall(r'<section class="sheet">.*?</section>', doc, re.S)


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def section_of(doc: str, name: str) -> str:
    found = [s for s in sections(doc) if f"{name}（编码" in s]
    assert len(found) == 1, name
    return found[0]


# ------------------------------------------------------------------ the HTML (no browser)


def test_sheets_are_one_printable_document_in_ranking_order(sheets_html: str, ranked: Any) -> None:
    doc = sheets_html
    assert doc.startswith("<!doctype html>\n")
    assert '<html lang="zh-CN">' in doc and '<meta charset="utf-8">' in doc
    assert "<title>2026年度村（社区）妇联工作考核细则 审核记录表</title>" in doc
    # print CSS: A4, a page per unit, headers repeated on every page, CJK fonts, no wrapping of numbers
    assert re.search(r"@page \{ size: A4; margin: [\d.]+mm", doc)
    assert "thead { display: table-header-group; }" in doc
    assert ".sheet { break-after: page; page-break-after: always; }" in doc
    assert re.search(
        r'font-family: "Noto Sans CJK SC", "Source Han Sans SC".*"WenQuanYi Micro Hei".*SimSun.*'
        r"sans-serif;",
        doc,
    )
    assert "td.n, th.n { text-align: right; white-space: nowrap;" in doc
    assert "table-layout: fixed" in doc
    _, _, rk = ranked
    names = [r.result.unit.name for r in rk]
    found = [re.search(r"被评单位</td><td>(.*?)（编码", s).group(1) for s in sections(doc)]  # type: ignore[union-attr]
    assert found == names and len(found) == N_UNITS
    assert names[0] == "花园社区" and names[-1] == "大湾村"  # vetoed: last


def test_header_block_names_scheme_unit_group_role_assessor_and_dates(sheets_html: str) -> None:
    s = text_of(section_of(sheets_html, "荷塘村"))
    for want in (
        "2026年度村（社区）妇联工作考核细则",
        "审核记录表（自评）",
        "被评单位 荷塘村（编码 hetang）",
        "考核细则 版本 2026.1（town-village-2026）",
        "片区 西片",
        "评审类别 自评",
        "评审人 hetang",
        "评审日期 2026年11月20日",
        "打印日期 2026年12月1日",
        "总分 91.61　等次：优秀　名次：2　片区名次：1",
    ):
        assert want in re.sub(r"[ \n]+", " ", s), want
    for word in ("评审人（签字）", "被评单位负责人（签字）", "日期：______年____月____日"):
        assert word in s


def test_every_item_has_max_points_reason_method_and_chinese_status(sheets_html: str) -> None:
    sec = section_of(sheets_html, "杨湾村")  # missing evidence
    rows = re.findall(
        r'<tr><td class="c">(\d+\.\d+)</td><td>(.*?)</td><td class="n">(.*?)</td>'
        r'<td class="n(?: na)?">(.*?)</td><td class="c">(.*?)</td><td>(.*?)</td>'
        r'<td class="c">(.*?)</td></tr>',
        sec,
    )
    assert len(rows) == 33
    statuses = {r[4] for r in rows}
    assert statuses <= {"已评分", "无资料", "不适用", "否决"} and "无资料" in statuses
    books = next(r for r in rows if html.unescape(r[1]).startswith("图书"))
    assert (
        books[2:5] == ("4.00", "0.00", "无资料") and "无资料" in books[5] and books[6] == "看现场"
    )
    # the missing evidence is listed again, with the flags, under 三
    assert "缺报资料" in sec and re.search(
        r"<li>图书：2000册以上4分.*?：无资料（缺妇女之家图书）", sec
    )


def test_not_applicable_shows_buyongshi_never_zero(sheets_html: str) -> None:
    sec = section_of(sheets_html, "松坞村")  # no floating population: the category does not apply
    floating = re.search(r"三、流动人口服务管理.*?小计", sec, re.S)
    assert floating is not None
    points = re.findall(r'<td class="n na">(.*?)</td>', floating.group(0))
    assert points == ["不适用"] * 6
    assert '0.00</td><td class="c">不适用' not in sec
    assert (
        '<td>流动人口服务管理</td><td class="c">基本</td><td class="n">25.00</td>'
        '<td class="n">不适用</td><td class="n">25</td><td>不适用，不计入</td>'
    ) in sec


def _cat_table(sec: str) -> list[tuple[str, str, str]]:
    table = re.search(r'<table class="cats">(.*?)</table>', sec, re.S)
    assert table is not None
    return re.findall(
        r"<tr><td>(.*?)</td>.*?<td>([^<]*)</td><td class=\"n\">(-?\d+\.\d\d)\*?</td></tr>",
        table.group(1),
    )


def test_hetang_re_adds_by_hand(sheets_html: str) -> None:
    """Issue 11: 荷塘村's categories (91.86 as printed) did not re-add to its total (91.61); the 折算分 do."""
    sec = section_of(sheets_html, "荷塘村")
    rows = _cat_table(sec)
    assert [(t, f, v) for t, f, v in rows] == [
        ("档案台帐", "100×30/100×23.00/25", "27.60"),
        ("硬件设施（阵地建设）", "100×25/100×19.91/25", "19.91"),
        ("流动人口服务管理", "100×25/100×22.70/25", "22.70"),
        ("家庭建设与妇儿维权", "100×20/100×24.25/25", "19.40"),
        ("加分项", "+2.00", "2.00"),
        ("扣分项", "-0.00", "0.00"),
    ]
    added = sum(Fraction(v) for _, _, v in rows)
    assert added == Fraction("91.61")
    assert re.search(
        r'合计（各类折算分相加）</td><td class="n">91.61</td>.*?总分</td><td class="n">91.61</td>',
        sec,
        re.S,
    )
    # by hand: each formula worked out gives the printed value
    for _, formula, value in rows[:4]:
        exact = Fraction(1)
        for factor in formula.split("×"):
            num, _, den = factor.partition("/")
            exact *= Fraction(num) / Fraction(den or 1)
        assert fmt_points(exact) == value, formula


def test_every_unit_re_adds_to_its_printed_total(ranked: Any, sheets_html: str) -> None:
    rb, _, rk = ranked
    adjusted = []
    for r in rk:
        u = r.result
        sh = shares(rb, u)
        assert sum(s.shown for s in sh) == hundredths(u.total), u.unit.id
        assert all(
            abs(s.shown - s.exact * 100) < 1 + Fraction(1, 2) for s in sh
        )  # never off by more than 0.01
        sec = section_of(sheets_html, u.unit.name)
        printed = sum(Fraction(v) for _, _, v in _cat_table(sec))
        assert fmt_points(printed) == fmt_points(u.total), u.unit.id
        if any(s.adjusted for s in sh):
            adjusted.append(u.unit.id)
            assert "四舍五入尾差" in sec
    # 松坞村 (three categories weighted 30:25:20 of 75) is the one whose rounding needs the 0.01 moved
    assert adjusted == ["songwu"]
    songwu = next(r.result for r in rk if r.result.unit.id == "songwu")
    assert [fmt_hundredths(s.shown) for s in shares(rb, songwu)] == [
        "31.20",
        "23.78",
        "0.00",
        "20.27",
        "1.50",
        "0.00",
    ]


def test_veto_flags_and_escaping(tmp_path: Path, ranked: Any) -> None:
    rb, _, rk = ranked
    doc = record_sheets_html(rb, rk)
    dawan = section_of(doc, "大湾村")
    assert "否决</td>" in dawan and "一票否决：保留得分" in dawan
    longquan = section_of(doc, "龙泉村")
    assert "提示（需人工核对）" in longquan and "数据不一致" in longquan
    # text is escaped: a unit name with markup prints as text
    ev = (
        (EVIDENCE / "hetang.toml")
        .read_text(encoding="utf-8")
        .replace('name  = "荷塘村"', 'name  = "<b>荷塘&村</b>"')
    )
    (tmp_path / "x.toml").write_text(ev, encoding="utf-8")
    p = cli("sheets", RULES, tmp_path / "x.toml")
    assert p.returncode == 0, p.stderr
    assert "&lt;b&gt;荷塘&amp;村&lt;/b&gt;" in p.stdout and "<b>荷塘" not in p.stdout


def test_role_filter_and_usage_errors(tmp_path: Path) -> None:
    p = cli("sheets", RULES, EVIDENCE / "hetang.toml", "--role", "自评")
    assert p.returncode == 0 and len(sections(p.stdout)) == 1
    p = cli("sheets", RULES, EVIDENCE / "hetang.toml", "--role", "town")
    assert p.returncode == 2
    assert p.stderr == "fulian-eval: 资料中没有“镇核”（town）的评审；有：自评\n"
    p = cli("sheets", RULES, EVIDENCE, "--role", "boss")
    assert p.returncode == 2 and "未知的评审类别 'boss'" in p.stderr
    p = cli("sheets", RULES, EVIDENCE, "-o", tmp_path / "x.txt")
    assert p.returncode == 2 and "sheets 不输出纯文本（.txt）；它输出 .html, .pdf" in p.stderr
    p = cli("sheets", RULES, EVIDENCE, "--format", "pdf")
    assert p.returncode == 2 and "请用 -o 文件名.pdf" in p.stderr
    p = cli("explain", RULES, EVIDENCE, "--unit", "hetang", "-o", tmp_path / "x.pdf")
    assert p.returncode == 2 and "explain 不输出PDF" in p.stderr
    assert list(tmp_path.iterdir()) == []


def test_pdf_without_chromium_is_a_clear_usage_error(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "FULIAN_EVAL_CHROMIUM"}
    env["PATH"] = str(empty)
    out = tmp_path / "审核记录表.pdf"
    p = cli("sheets", RULES, EVIDENCE, "-o", out, env=env)
    assert p.returncode == 2
    assert p.stderr.startswith("fulian-eval: 写 PDF 需要 Chromium 浏览器，但未找到"), p.stderr
    assert "apt-get install chromium" in p.stderr and "输出 .html 文件" in p.stderr
    env["FULIAN_EVAL_CHROMIUM"] = str(tmp_path / "no-such-browser")
    p = cli("rank", RULES, EVIDENCE, "-o", out, env=env)
    assert (
        p.returncode == 2 and "FULIAN_EVAL_CHROMIUM" in p.stderr and "no-such-browser" in p.stderr
    )
    assert sorted(x.name for x in tmp_path.iterdir()) == [
        "bin"
    ]  # nothing written, no temporary file left


def test_ranking_handout_is_a_printable_document(tmp_path: Path) -> None:
    out = tmp_path / "排名.html"
    p = cli("rank", RULES, EVIDENCE, ERRORS, "-o", out)
    assert p.returncode == 1  # the planted bad files are rejected; the rest are ranked
    doc = out.read_text(encoding="utf-8")
    assert doc.startswith("<!doctype html>") and '<meta charset="utf-8">' in doc
    assert "<title>2026年度村（社区）妇联工作考核细则排名</title>" in doc
    assert "@page { size: A4" in doc and "thead { display: table-header-group; }" in doc
    rows = re.findall(
        r'<tr><td class="c">(\d+)</td><td class="c">(\d+)</td><td class="nowrap">(.*?)</td>'
        r'<td class="id">(.*?)</td><td class="nowrap">(.*?)</td><td class="n">(.*?)</td>'
        r'<td class="c">(.*?)</td>(.*?)</tr>',
        doc,
    )
    assert len(rows) == N_UNITS
    assert rows[1][:7] == ("2", "1", "荷塘村", "hetang", "西片", "91.61", "优秀")
    songwu = next(r for r in rows if r[3] == "songwu")
    assert '<td class="n na">不适用</td>' in songwu[7]
    assert rows[-1][2] == "大湾村" and "一票否决" in rows[-1][7]
    text = text_of(doc)
    assert "等次：优秀 2个，合格 7个，基本合格 10个，不合格 2个" in text
    assert "一票否决：大湾村" in text
    assert text.count("被拒收（未参加排名）") == 4 and "negative-count.toml" in text
    assert "“不适用”的类别不计入总分" in text
    # --format html says the same (to stdout)
    p = cli("rank", RULES, EVIDENCE, "--format", "html")
    assert p.returncode == 0 and p.stdout.startswith("<!doctype html>")


# ------------------------------------------------------------------ printed by Chromium

CHROMIUM = find_chromium()
needs_browser = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found (chromium, chromium-browser, "
    "google-chrome or $FULIAN_EVAL_CHROMIUM): install it with apt-get install "
    "chromium to print record sheets; .ci/run does",
)
needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="pdftotext not found: apt-get install poppler-utils (.ci/run does)",
)


def pdf_pages(path: Path) -> list[str]:
    """The PDF's pages as text (pdftotext ends each page with a form feed)."""
    out = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout.decode("utf-8")
    return out.split("\f")[:-1]


@needs_browser
@needs_pdftotext
def test_record_sheets_print_to_pdf_a_page_or_more_per_unit(tmp_path: Path, ranked: Any) -> None:
    _, _, rk = ranked
    out = tmp_path / "审核记录表.pdf"
    p = cli("sheets", RULES, EVIDENCE, "-o", out)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes().startswith(b"%PDF")
    assert [x.name for x in tmp_path.iterdir()] == [
        "审核记录表.pdf"
    ]  # written through a temporary file, renamed
    pages = pdf_pages(out)
    assert len(pages) >= N_UNITS
    # each unit starts a new page: the page with its header block starts with the scheme title
    starts = [k for k, page in enumerate(pages) if re.search(r"被评单位\s+\S+（编码", page)]
    assert len(starts) == N_UNITS
    for k in starts:
        assert pages[k].lstrip().startswith("2026年度村（社区）妇联工作考核细则")
    names = [re.search(r"被评单位\s+(\S+)（编码", pages[k]).group(1) for k in starts]  # type: ignore[union-attr]
    assert names == [r.result.unit.name for r in rk]
    # each unit's pages hold its items, its total re-added, and the signature lines
    bounds = [*starts, len(pages)]
    for r, (a, b) in zip(rk, itertools.pairwise(bounds), strict=True):
        text = "\n".join(pages[a:b])
        total = fmt_points(r.result.total)
        assert re.search(rf"合计（各类折算分相加）\s+{re.escape(total)}", text), r.result.unit.id
        assert re.search(rf"总分\s+{re.escape(total)}", text)
        for word in ("评审人（签字）", "被评单位负责人（签字）", "日期："):
            assert word in text, (r.result.unit.id, word)
    songwu = "\n".join(pages[starts[[r.result.unit.id for r in rk].index("songwu")] :][:2])
    assert songwu.count("不适用") >= 7
    # the table header is repeated on the second page of a unit
    assert all(
        re.search(r"序号\s+考核内容\s+分值\s+得分\s+状态\s+评分依据\s+方式", pages[k + 1])
        for k in starts
        if k + 1 < len(pages) and k + 1 not in starts
    )


@needs_browser
@needs_pdftotext
def test_ranking_handout_prints_to_pdf(tmp_path: Path, ranked: Any) -> None:
    _, _, rk = ranked
    out = tmp_path / "排名.pdf"
    p = cli("rank", RULES, EVIDENCE, "-o", out)
    assert p.returncode == 0, p.stderr
    pages = pdf_pages(out)
    assert 1 <= len(pages) <= 2
    text = "\n".join(pages)
    assert "2026年度村（社区）妇联工作考核细则排名" in text
    for r in rk:
        assert re.search(
            rf"{r.rank}\s+{r.group_rank}\s+{r.result.unit.name}\s+{r.result.unit.id}", text
        ), r
    assert "不适用" in text and "制表人" in text


_MEASURE = """<script>
(function () {
  var bad = [], cells = 0;
  document.querySelectorAll('td, th').forEach(function (cell) {
    var text = cell.textContent.replace(/\\s+/g, '');
    if (text.length < 2) return;
    cells++;
    var range = document.createRange();
    range.selectNodeContents(cell);
    var rects = range.getClientRects(), tops = {};
    for (var i = 0; i < rects.length; i++) if (rects[i].width > 0) tops[Math.round(rects[i].top)] = 1;
    var lines = Object.keys(tops).length;
    if (lines > 1 && text.length / lines < 2.5)
      bad.push(text.slice(0, 24) + ': ' + lines + ' lines in ' + Math.round(cell.getBoundingClientRect().width) + 'px');
  });
  var out = document.createElement('pre');
  out.id = 'measure';
  out.textContent = JSON.stringify({cells: cells, bad: bad});
  document.body.appendChild(out);
})();
</script>"""


def _measured(doc: str) -> dict[str, Any]:
    dom = dump_dom(doc.replace("</body>", _MEASURE + "\n</body>"))
    found = re.search(r'<pre id="measure">(.*?)</pre>', dom, re.S)
    assert found is not None, dom[-500:]
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


@needs_browser
def test_no_cell_wraps_one_character_per_line(sheets_html: str, tmp_path: Path) -> None:
    """Measured in Chromium at the printed width (the page is as wide on screen as on A4)."""
    m = _measured(sheets_html)
    assert m["cells"] > N_UNITS * 40
    assert m["bad"] == []
    p = cli("rank", RULES, EVIDENCE, "-o", tmp_path / "排名.html")
    assert p.returncode == 0, p.stderr
    m = _measured((tmp_path / "排名.html").read_text(encoding="utf-8"))
    assert m["cells"] > N_UNITS * 8
    assert m["bad"] == []


@needs_browser
def test_the_measurement_catches_one_character_per_line() -> None:
    """The check above can fail: a column 8 px wide puts each character on its own line."""
    doc = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>t</title></head><body>'
        '<table style="width:400px;table-layout:fixed"><col style="width:8px"><col><tr><td>已评分</td>'
        "<td>正常的一格</td></tr></table></body></html>"
    )
    m = _measured(doc)
    assert m["cells"] == 2 and len(m["bad"]) == 1 and m["bad"][0].startswith("已评分: 3 lines")


def test_waived_item_is_named_and_the_total_still_re_adds(tmp_path: Path) -> None:
    out = tmp_path / "审核记录表.html"
    p = cli(
        "sheets",
        RULES,
        EVIDENCE,
        "--waivers",
        ROOT / "examples" / "town" / "waivers.toml",
        "--today",
        "2026-12-01",
        "-o",
        out,
    )
    assert p.returncode == 0, p.stderr
    sec = section_of(out.read_text(encoding="utf-8"), "松坞村")
    assert (
        "已豁免：活动室面积：30平方米以下不得分" in sec
        and "（facilities.room），按不适用计；未豁免时总分 76.75。" in sec
    )
    room = re.search(r"<td>活动室面积：.*?</tr>", sec)
    assert room is not None and '<td class="n na">不适用</td>' in room.group(0)
    total = re.search(r'总分</td><td class="n">(\d+\.\d\d)</td>', sec)
    assert total is not None and total.group(1) != "76.75"
    assert sum(Fraction(v) for _, _, v in _cat_table(sec)) == Fraction(total.group(1))


def test_handout_with_sensitivity_shows_best_and_worst_places(tmp_path: Path) -> None:
    out = tmp_path / "排名.html"
    p = cli("rank", RULES, EVIDENCE, "--sensitivity", "10%", "-o", out)
    assert p.returncode == 0, p.stderr
    doc = out.read_text(encoding="utf-8")
    assert '<th class="c">最好名次</th><th class="c">最差名次</th>' in doc
    assert "@page { size: A4 landscape; }" in doc
    assert "最好、最差名次：各基本类别权重上下浮动 10.00%" in text_of(doc)


def _fake_browser(tmp_path: Path, body: str) -> str:
    exe = tmp_path / "fake-chromium"
    exe.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    exe.chmod(0o755)
    return str(exe)


def test_a_browser_that_hangs_is_stopped_and_one_that_fails_is_named(tmp_path: Path) -> None:
    from fulian_eval.report.pdf import PdfError, html_to_pdf

    doc = "<!doctype html><title>t</title><p>x"
    hang = _fake_browser(tmp_path, "sleep 60")
    with pytest.raises(PdfError, match=r"在 0.5 秒内未完成打印，已终止"):
        html_to_pdf(doc, chromium=hang, timeout=0.5)
    fail = _fake_browser(tmp_path, "echo 'cannot open display' >&2; exit 3")
    with pytest.raises(PdfError, match=r"打印失败，退出码 3：cannot open display"):
        html_to_pdf(doc, chromium=fail)
    silent = _fake_browser(tmp_path, "exit 0")
    with pytest.raises(PdfError, match="没有写出 PDF"):
        html_to_pdf(doc, chromium=silent)
