"""Chinese first, English with ``--lang en`` (issue 11): the catalogs, the choice of language, a GBK console."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from fulian_eval.lang import messages
from fulian_eval.lang.messages import _, language_from_env, ngettext, set_language

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "fulian_eval"
PO = SRC / "locale" / "zh_CN" / "LC_MESSAGES" / "fulian_eval.po"
MO = PO.with_suffix(".mo")
TOWN = ROOT / "tests" / "data" / "acceptance"
INVALID = ROOT / "tests" / "data" / "invalid"
BRACES = re.compile(r"\{(\w*)[^{}]*\}")
PERCENT = re.compile(r"%(?:\(\w+\))?[sdr%]")


def _catalog() -> Any:
    with PO.open("rb") as f:
        return read_po(f)


def _extracted() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(SRC)):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _ids(cat: Any) -> dict[str, Any]:
    return {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in cat if m.id}


# ------------------------------------------------------------------ the catalog


def test_every_message_in_the_code_is_translated() -> None:
    """No string is forgotten: every _()/N_()/ngettext() msgid has a Chinese msgstr (tools/messages.sh)."""
    extracted = _extracted()
    assert "invalid rulebook" in extracted  # the extractor sees the code
    ids = _ids(_catalog())
    missing = sorted(extracted - set(ids))
    assert not missing, f"not in the catalog (run tools/messages.sh): {missing}"
    untranslated = sorted(
        k
        for k in extracted
        if not all(ids[k].string if isinstance(ids[k].string, tuple) else [ids[k].string])
        or ids[k].fuzzy
    )
    assert not untranslated, f"no Chinese yet: {untranslated}"


def test_the_catalog_has_no_stale_messages() -> None:
    stale = sorted(set(_ids(_catalog())) - _extracted())
    assert not stale, f"in the catalog but no longer in the code (run tools/messages.sh): {stale}"


def test_translations_keep_their_placeholders() -> None:
    for msgid, m in _ids(_catalog()).items():
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for s in strings:
            assert sorted(BRACES.findall(s)) == sorted(BRACES.findall(msgid)), (msgid, s)
            assert sorted(PERCENT.findall(s)) == sorted(PERCENT.findall(msgid)), (msgid, s)


def test_the_shipped_mo_is_the_compiled_po() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _catalog())
    assert MO.read_bytes() == compiled.getvalue(), "run tools/messages.sh compile"


def test_the_catalog_ships_with_the_package() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "locale/*/LC_MESSAGES/*.mo" in text


# ------------------------------------------------------------------ the language


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "zh"),
        ({"LANG": "C.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),  # the first one set decides
        ({"LC_MESSAGES": "en_US", "LANG": "zh_CN"}, "en"),
        ({"FULIAN_EVAL_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"FULIAN_EVAL_LANG": "zh", "LC_ALL": "en_US.UTF-8"}, "zh"),
        ({"FULIAN_EVAL_LANG": "", "LANG": "en_US"}, "en"),
    ],
)
def test_language_from_the_environment(environ: dict[str, str], expected: str) -> None:
    assert language_from_env(environ) == expected


def test_both_languages_in_the_library() -> None:
    try:
        set_language("zh")
        assert _("invalid rulebook") == "考核细则有误"
        assert ngettext("{n} problem", "{n} problems", 6).format(n=6) == "6处问题"
        set_language("en")
        assert _("invalid rulebook") == "invalid rulebook"
        assert ngettext("{n} problem", "{n} problems", 6).format(n=6) == "6 problems"
        assert ngettext("{n} problem", "{n} problems", 1).format(n=1) == "1 problem"
        with pytest.raises(ValueError, match="fr"):
            set_language("fr")
    finally:
        set_language(None)
    assert messages.language() == "zh"  # conftest: FULIAN_EVAL_LANG=zh


# ------------------------------------------------------------------ the command line


def _cli(*args: Any, env: dict[str, str] | None = None, encoding: str = "utf-8") -> Any:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FULIAN_EVAL_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "PYTHONIOENCODING")
    }
    proc = subprocess.run(
        [sys.executable, "-m", "fulian_eval", *(str(a) for a in args)],
        cwd=TOWN,
        capture_output=True,
        env={**base, **(env or {})},
        timeout=120,
    )
    out, err = proc.stdout.decode(encoding), proc.stderr.decode(encoding)
    assert "Traceback" not in err, err
    return proc.returncode, out, err


def test_help_is_chinese_by_default_and_english_on_request() -> None:
    code, out, _err = _cli("--help")
    assert code == 0
    assert out.startswith("用法：fulian-eval")
    assert "检查考核细则，列出全部问题" in out  # validate's help
    assert "退出状态：" in out and "显示本帮助并退出" in out
    assert "exit status" not in out
    for how in (["--lang", "en", "--help"], ["--lang=en", "--help"]):
        code, out, _err = _cli(*how)
        assert code == 0
        assert out.startswith("usage: fulian-eval")
        assert "check rulebooks and report every problem" in out
        assert "exit status:" in out
        assert "考核细则，列出" not in out


@pytest.mark.parametrize(
    ("command", "chinese", "english"),
    [
        (["sheets"], "写入文件：审核记录表.html 或 .pdf", "write to FILE: sheets.html or .pdf"),
        (["template"], "写出的填报表（.xlsx）", "the form to write (.xlsx)"),
        (["audit", "verify"], "另行保存的链头哈希", "the head hash kept elsewhere"),
        (["plan"], "随机种子（请保存", "the random seed"),
    ],
)
def test_every_command_helps_in_both_languages(
    command: list[str], chinese: str, english: str
) -> None:
    code, out, _err = _cli(*command, "--help")
    assert code == 0 and chinese in out and english not in out
    assert "显示本帮助并退出" in out and "--lang {zh,en}" in out
    code, out, _err = _cli(*command, "--lang", "en", "--help")
    assert code == 0 and english in out and chinese not in out


@pytest.mark.parametrize(
    ("env", "english"),
    [
        ({"FULIAN_EVAL_LANG": "en"}, True),
        ({"LANG": "en_US.UTF-8"}, True),
        ({"LANG": "zh_CN.UTF-8"}, False),
        ({"LANG": "en_US.UTF-8", "FULIAN_EVAL_LANG": "zh"}, False),
    ],
)
def test_the_environment_chooses_the_language(env: dict[str, str], english: bool) -> None:
    code, out, _err = _cli("score", "--help", env=env)
    assert code == 0
    assert ("write the report to FILE instead of stdout" in out) == english
    assert ("把报告写到 FILE，而不是标准输出" in out) == (not english)


def test_lang_after_the_command_and_argparse_errors_in_both_languages() -> None:
    code, _out, err = _cli("score")
    assert code == 2
    assert "用法：fulian-eval score" in err
    assert "fulian-eval score：错误：缺少必需的参数：RULEBOOK, EVIDENCE" in err
    code, _out, err = _cli("score", "--lang", "en", env={"LANG": "zh_CN.UTF-8"})
    assert code == 2
    assert "error: the following arguments are required: RULEBOOK, EVIDENCE" in err
    code, _out, err = _cli("score", "--lang", "fr", "x.toml", "y.csv")
    assert code == 2
    assert "参数 --lang：无效的选择：'fr'（可选 'zh', 'en'）" in err


def test_invalid_rulebook_heading_in_both_languages() -> None:
    bad = INVALID / "approximate-bound.toml"
    code, _out, err = _cli("score", bad, "evidence/yufeng.toml")
    assert code == 2
    assert err.startswith("考核细则有误（1处问题）：\n")
    code, _out, err = _cli("score", bad, "evidence/yufeng.toml", "--lang", "en")
    assert code == 2
    assert err.startswith("invalid rulebook (1 problem):\n")


def test_usage_errors_in_both_languages() -> None:
    args = ("explain", "town-2026.toml", "evidence/yufeng.toml", "--unit", "nowhere")
    code, _out, err = _cli(*args)
    assert code == 2
    assert "fulian-eval: 资料中没有单位“nowhere”；单位有：yufeng" in err
    code, _out, err = _cli(*args, "--lang", "en")
    assert "fulian-eval: no unit 'nowhere' in the evidence; units: yufeng" in err


# ------------------------------------------------------------------ a GBK console


def test_a_gbk_console_gets_every_report_and_warning(tmp_path: Path) -> None:
    """``PYTHONIOENCODING=gbk``: m² is written m2, never a crash; warnings and rejections too."""
    with pytest.raises(UnicodeEncodeError):
        "²".encode("gbk")
    gbk = {"PYTHONIOENCODING": "gbk"}
    code, out, err = _cli(
        "explain",
        "town-2026.toml",
        "evidence/yufeng.toml",
        "--unit",
        "yufeng",
        env=gbk,
        encoding="gbk",
    )
    assert code == 0, err
    assert "活动室面积120m2，按50m2不得分、200m2满分折算" in out
    assert "²" not in out and "?" not in out
    table = tmp_path / "units.csv"
    table.write_text("unit,name,room_area,备注²\nyufeng,渔丰村,120 m²,x\n", encoding="utf-8")
    for command in ("score", "rank", "explain"):
        code, out, err = (
            _cli(
                command,
                "town-2026.toml",
                table,
                "--ignore-columns",
                "--unit",
                "yufeng",
                env=gbk,
                encoding="gbk",
            )
            if command == "explain"
            else _cli(command, "town-2026.toml", table, "--ignore-columns", env=gbk, encoding="gbk")
        )
        assert code == 0, err
        assert "渔丰村" in out
        assert err.startswith("警告：") and "备注" in err, err


def test_an_internal_error_in_both_languages(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fulian_eval.cli import app

    def boom(_args: Any) -> int:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(app._COMMANDS, "validate", boom)
    assert app.main(["validate", str(INVALID / "approximate-bound.toml")]) == 3
    assert capsys.readouterr().err == (
        "fulian-eval：内部错误：ZeroDivisionError: boom\n这是 fulian-eval 的缺陷；请连同所运行的命令一起报告。\n"
    )
    assert app.main(["--lang", "en", "validate", str(INVALID / "approximate-bound.toml")]) == 3
    assert capsys.readouterr().err.startswith(
        "fulian-eval: internal error: ZeroDivisionError: boom\n"
    )
    assert messages.language() == "zh"  # main put the language back as it was
