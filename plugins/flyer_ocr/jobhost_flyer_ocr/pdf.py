"""PDFs through PDFium in a bounded child process: the page count, each page's text layer or pixels.

PDFium never runs in the host's own processes. A PDF's cost is not its size: 2 KB of nested
Form XObjects draw a billion rectangles. So each document gets a child (`pdf_child`) that limits
its own memory and CPU time per page before it opens the file, and a wall-clock timeout after
which it is killed. No lock is needed (PDFium is not thread-safe, but each child has its own),
so one user's PDF never waits for another's; and PDFium's last error is the child's own.

A PDF that hits a limit is refused for good (`FlyerRejected`), naming the page and the limits.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from PIL import Image

from jobhost_flyer_ocr.errors import FlyerRejected, OcrUnavailable
from jobhost_flyer_ocr.model import Box, Page, Word

if TYPE_CHECKING:
    from jobhost_flyer_ocr.validate import Limits

# The wall-clock time a page may take is this many times its CPU budget (plus a start-up
# second): on a loaded machine a child gets only part of a core, yet a hung one is still killed.
WALL_FACTOR = 3
STARTUP_SECONDS = 1.0


def _exceeded(what: str, limits: Limits) -> FlyerRejected:
    return FlyerRejected(
        f"{what} of the PDF could not be rendered within the renderer's limits "
        f"({limits.render_memory // 1048576} MiB of memory, {limits.render_seconds:g} s of CPU per page): "
        "the PDF is too complex to read, or built to exhaust the server"
    )


def _start() -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "jobhost_flyer_ocr.pdf_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        raise OcrUnavailable(f"cannot start the PDF renderer: {exc}") from None


_spare: subprocess.Popen[bytes] | None = None
_spare_lock = threading.Lock()  # guards handing out the spare only; PDFium never runs under it


def _take() -> subprocess.Popen[bytes]:
    """A child that started earlier (Python and PDFium loaded: a tenth of a second a document
    need not wait for), and a new one started to wait for the next document."""
    global _spare
    with _spare_lock:
        child = _spare if _spare is not None and _spare.poll() is None else _start()
        _spare = _start()
    return child


class _Child:
    """One PDFium child on one document: its messages, each within a deadline."""

    def __init__(self, data: bytes, request: dict[str, Any]) -> None:
        # A file, not a pipe: the child reads it at its pace, and a write never waits on it.
        handle, self._path = tempfile.mkstemp(prefix="flyer-pdf-", suffix=".pdf")
        with os.fdopen(handle, "wb") as source:
            source.write(data)
        self._process = _take()
        assert self._process.stdin is not None and self._process.stdout is not None
        try:
            self._process.stdin.write(json.dumps({**request, "path": self._path}).encode() + b"\n")
            self._process.stdin.close()
        except BrokenPipeError:
            pass  # it died waiting; reading its answer says so
        self._fd = self._process.stdout.fileno()
        self._buffer = bytearray()

    def _fill(self, until: float) -> bool:
        """Read what the child wrote; False at end of output or when `until` has passed."""
        left = until - time.monotonic()
        if left <= 0 or not select.select([self._fd], [], [], left)[0]:
            return False
        chunk = os.read(self._fd, 1 << 20)
        self._buffer += chunk
        return bool(chunk)

    def message(self, until: float) -> tuple[dict[str, Any], bytes] | None:
        """The next message and its payload, or None when the child died or ran out of time."""
        while b"\n" not in self._buffer:
            if not self._fill(until):
                return None
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        message = json.loads(line)
        size = message.get("stride", 0) * message.get("size", (0, 0))[1]
        while len(self._buffer) < size:
            if not self._fill(until):
                return None
        payload, self._buffer = bytes(self._buffer[:size]), self._buffer[size:]
        return message, payload

    def close(self) -> None:
        """Kill the child (and anything it started) if it still runs, and reap it."""
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it ended in the meantime
                os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()
        assert self._process.stdout is not None
        self._process.stdout.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)


def _request(mode: str, limits: Limits) -> dict[str, Any]:
    return {
        "mode": mode,
        "memory": limits.render_memory,
        "seconds": limits.render_seconds,
        "dpi": limits.pdf_dpi,
        "max_pixels": limits.max_pixels,
        "max_pages": limits.max_pages,
        "text": True,
    }


def _page_time(limits: Limits) -> float:
    return limits.render_seconds * WALL_FACTOR + STARTUP_SECONDS


def _count(child: _Child, limits: Limits) -> int:
    answer = child.message(time.monotonic() + _page_time(limits))
    if answer is None:
        raise _exceeded("the structure", limits)
    message, _ = answer
    if "error" in message:
        raise FlyerRejected(message["error"])
    count = int(message["pages"])
    if count == 0:
        raise FlyerRejected("the PDF has no pages")
    if count > limits.max_pages:
        raise FlyerRejected(f"the PDF has {count} pages; at most {limits.max_pages} are allowed")
    return count


def page_count(data: bytes, limits: Limits) -> int:
    """How many pages a PDF has, within the page limit; its pages are never drawn."""
    child = _Child(data, _request("count", limits))
    try:
        return _count(child, limits)
    finally:
        child.close()


def _page(message: dict[str, Any], payload: bytes, count: int) -> Page:
    width, height = message["size"]
    if "words" in message:
        words = tuple(
            Word(text, Box(left, top, w, h), 100.0, (1, 1, 1)) for text, left, top, w, h in message["words"]
        )
        return Page(message["page"], None, words, (width, height), count)
    image = Image.frombuffer("L", (width, height), payload, "raw", "L", message["stride"], 1)
    return Page(message["page"], image, count=count)


def pdf_pages(data: bytes, limits: Limits, deadline: float | None = None) -> Iterator[Page]:
    """Every page: its text layer when it has one, else its pixels at `limits.pdf_dpi`.

    `deadline` (a `time.monotonic()` value) ends the run as `OcrUnavailable` (retry later);
    a page past its own limits is `FlyerRejected`.
    """
    child = _Child(data, _request("pages", limits))
    try:
        count = _count(child, limits)
        for number in range(1, count + 1):
            until = time.monotonic() + _page_time(limits)
            if deadline is not None and deadline < until:
                until = deadline
            answer = child.message(until)
            if answer is None:
                if deadline is not None and time.monotonic() >= deadline:
                    raise OcrUnavailable(f"out of time while page {number} of the PDF was rendered")
                raise _exceeded(f"page {number}", limits)
            message, payload = answer
            if "error" in message:
                raise FlyerRejected(message["error"])
            yield _page(message, payload, count)
    finally:
        child.close()
