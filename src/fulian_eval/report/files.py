"""A report file that appears whole or not at all.

A report is written to a temporary file beside its path and renamed over the path
only when it is complete. A run that fails or is interrupted leaves no truncated
report and never removes an older one. The command line's ``-o`` and the library's
:meth:`~fulian_eval.pipeline.RunResult.report` both write files this way.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["ReplacingFile", "replacing"]


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


class ReplacingFile:
    """The file at ``path``, written to a temporary file and renamed into place by :meth:`commit`.

    The temporary file is made at once, so a folder that cannot be written to is found
    before any work is done. A symlink is written through: the file it names is replaced.
    A device or FIFO (``/dev/null``) is written directly. A file that exists keeps its
    permission bits. Errors are :class:`OSError`; a folder at ``path`` is
    :class:`IsADirectoryError`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.target = os.path.realpath(self.path)
        try:
            st: os.stat_result | None = os.stat(self.target)
        except OSError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(21, "Is a directory", self.path)
        self.direct = st is not None and not stat.S_ISREG(st.st_mode)
        self.mode = stat.S_IMODE(st.st_mode) if st is not None and not self.direct else None
        self.file: IO[Any] | None = None
        if self.direct:
            self.tmp = self.target
            return
        fd, self.tmp = tempfile.mkstemp(
            dir=os.path.dirname(self.target),
            prefix=f".{os.path.basename(self.target)}.",
            suffix=".tmp",
        )
        os.close(fd)

    def open(self, mode: str, **kw: Any) -> IO[Any]:
        """The temporary file, opened once (later calls return the same file)."""
        if self.file is None:
            self.file = open(self.tmp, mode, **kw)  # noqa: SIM115 - closed by commit/discard
        return self.file

    def commit(self) -> None:
        """Put the file in place (the work succeeded); on an error the temporary file is removed."""
        try:
            if self.file is not None:
                self.file.close()
            if not self.direct:
                os.chmod(self.tmp, self.mode if self.mode is not None else 0o666 & ~_umask())
                os.replace(self.tmp, self.target)
        except OSError:
            self.discard()
            raise

    def discard(self) -> None:
        """Drop the temporary file (the work failed); an older file is left as it was."""
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
        if not self.direct:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str], mode: str, **kw: Any) -> Iterator[IO[Any]]:
    """``with replacing(path, "w", encoding=...) as f``: ``f`` replaces ``path`` only if the block succeeds."""
    out = ReplacingFile(path)
    try:
        f = out.open(mode, **kw)
        yield f
    except BaseException:
        out.discard()
        raise
    out.commit()
