"""PDF (and pictures) from the printable HTML, with headless Chromium: the same page a browser prints.

Chromium is found as ``$FULIAN_EVAL_CHROMIUM``, else ``chromium``, ``chromium-browser``,
``google-chrome`` or ``google-chrome-stable`` on ``PATH``. Each call starts one
browser on a temporary copy of the HTML, with a fresh profile, in its own process
group, and kills the whole group when it takes longer than ``timeout`` seconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import FulianEvalError

__all__ = [
    "CHROMIUM_NAMES",
    "PdfError",
    "PdfUnavailable",
    "dump_dom",
    "find_chromium",
    "html_to_pdf",
    "require_chromium",
    "screenshot",
]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ENV = "FULIAN_EVAL_CHROMIUM"
TIMEOUT = 120.0  # seconds, plus PER_MB for each MB of HTML when printing
PER_MB = 30.0  # measured: ~11 s per MB (about 70 record sheets) on one core


class PdfError(FulianEvalError, RuntimeError):
    """Chromium failed to print (or to start, or took too long)."""


class PdfUnavailable(PdfError):
    """No Chromium to print with."""


def find_chromium() -> str | None:
    """The Chromium to print with: ``$FULIAN_EVAL_CHROMIUM`` if set, else the first of :data:`CHROMIUM_NAMES` found.

    Raises:
        PdfUnavailable: ``$FULIAN_EVAL_CHROMIUM`` names no executable file.
    """
    named = os.environ.get(ENV, "").strip()
    if named:
        found = shutil.which(named)
        if found is None:
            raise PdfUnavailable(
                f"环境变量 {ENV}={named} 指向的程序不存在或不可执行；"
                f"请改为 Chromium 的路径，或删去该变量"
            )
        return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    return None


def require_chromium() -> str:
    """:func:`find_chromium`, or :class:`PdfUnavailable` with what to do instead."""
    found = find_chromium()
    if found is None:
        raise PdfUnavailable(
            "写 PDF 需要 Chromium 浏览器，但未找到（chromium、chromium-browser、google-chrome）。"
            "请安装（Debian/Ubuntu：apt-get install chromium），或设置环境变量 "
            f"{ENV} 为其路径；也可以输出 .html 文件，用浏览器打开后打印（A4）"
        )
    return found


@contextlib.contextmanager
def _page(html: str) -> Iterator[tuple[Path, Path]]:
    """A temporary folder with the page (``page.html``) and a profile folder for the browser."""
    with tempfile.TemporaryDirectory(prefix="fulian-eval-print-") as tmp:
        folder = Path(tmp)
        page = folder / "page.html"
        page.write_text(html, encoding="utf-8")
        (folder / "profile").mkdir()
        yield folder, page


def _run(
    chromium: str | None, folder: Path, page: Path, flags: Sequence[str], timeout: float
) -> str:
    """Run headless Chromium on ``page``; its stdout. A failure or a timeout is a :class:`PdfError`."""
    exe = chromium or require_chromium()
    argv = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--mute-audio",
        f"--user-data-dir={folder / 'profile'}",
        *flags,
        page.as_uri(),
    ]
    env = dict(
        os.environ, HOME=str(folder)
    )  # Chromium writes caches under HOME; keep them in the temp folder
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=folder,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise PdfError(f"无法启动 Chromium（{exe}）：{exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise PdfError(
            f"Chromium（{exe}）在 {timeout:g} 秒内未完成打印，已终止；"
            "单位很多时可分批打印，或输出 .html 后用浏览器打印"
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise PdfError(f"Chromium（{exe}）打印失败，退出码 {proc.returncode}：" + " / ".join(tail))
    return out.decode("utf-8", "replace")


def html_to_pdf(html: str, *, chromium: str | None = None, timeout: float | None = None) -> bytes:
    """Print an HTML document to PDF as Chromium prints it (its own ``@page`` size and margins, no header or footer).

    Args:
        html: the whole document.
        chromium: the browser (default: :func:`require_chromium`).
        timeout: seconds before the browser is stopped (default: :data:`TIMEOUT` plus
            :data:`PER_MB` for each MB of HTML).

    Raises:
        PdfUnavailable: no Chromium.
        PdfError: Chromium failed, wrote nothing, or took longer than ``timeout`` seconds.
    """
    if timeout is None:
        timeout = TIMEOUT + PER_MB * len(html.encode("utf-8")) / 1e6
    with _page(html) as (folder, page):
        pdf = folder / "out.pdf"
        _run(
            chromium,
            folder,
            page,
            [f"--print-to-pdf={pdf}", "--no-pdf-header-footer", "--generate-pdf-document-outline"],
            timeout,
        )
        try:
            data = pdf.read_bytes()
        except OSError:
            data = b""
        if not data.startswith(b"%PDF"):
            raise PdfError("Chromium 没有写出 PDF 文件（可能是版本过旧，不支持 --print-to-pdf）")
        return data


def screenshot(
    html: str,
    width: int,
    height: int,
    *,
    scale: float = 1.0,
    chromium: str | None = None,
    timeout: float = TIMEOUT,
) -> bytes:
    """A PNG of the page as a screen shows it: ``width`` × ``height`` CSS pixels, each ``scale`` device pixels."""
    with _page(html) as (folder, page):
        png = folder / "shot.png"
        _run(
            chromium,
            folder,
            page,
            [
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                f"--force-device-scale-factor={scale:g}",
                "--hide-scrollbars",
            ],
            timeout,
        )
        try:
            data = png.read_bytes()
        except OSError:
            data = b""
        if not data.startswith(b"\x89PNG"):
            raise PdfError("Chromium 没有写出截图")
        return data


def dump_dom(
    html: str, *, width: int = 1200, chromium: str | None = None, timeout: float = TIMEOUT
) -> str:
    """The page's DOM after its scripts ran (``--dump-dom``), laid out ``width`` CSS pixels wide."""
    with _page(html) as (folder, page):
        return _run(chromium, folder, page, ["--dump-dom", f"--window-size={width},1000"], timeout)
