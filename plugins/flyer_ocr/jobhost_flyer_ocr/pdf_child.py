"""The PDFium side of `pdf`: `python -m jobhost_flyer_ocr.pdf_child`, then a request on stdin.

It limits its own address space and CPU time before it reads the PDF, so a PDF built to
exhaust the machine (nested Form XObjects, a page of a billion fills) ends this process and
nothing else. It answers on stdout: a JSON line per message, a page's gray pixels right after
its line. PDFium's error state is per process, so an error here is this document's own.
"""

from __future__ import annotations

import json
import math
import re
import resource
import sys
from typing import Any, BinaryIO

# A page whose text layer has fewer words than this is read by OCR (a scan, a photo, a page
# whose only text is a caption over a picture of the deals).
MIN_TEXT_WORDS = 5
_SPACES = {0x20, 0x09, 0x0A, 0x0D, 0xA0, 0x02, 0xFFFE}
_LEADERS = re.compile(r"[.·…_]{3,}")


def _send(out: BinaryIO, message: dict[str, Any], payload: bytes = b"") -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.write(payload)
    out.flush()


def _cpu_budget(seconds: float) -> None:
    """Allow `seconds` more of CPU from now on; past them the kernel ends the process (SIGXCPU)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))


def _words(page: Any, scale: float) -> list[list[Any]]:
    """The page's text layer as words `[text, left, top, width, height]` in pixels at `scale`."""
    import pypdfium2.raw as raw

    left, _bottom, _right, top = page.get_bbox()
    text = page.get_textpage()
    runs: list[list[tuple[str, list[float]]]] = []  # each word's glyphs and their boxes
    current: list[tuple[str, list[float]]] | None = None
    font, reach = 0.0, 0.0
    for index in range(text.count_chars()):
        code = raw.FPDFText_GetUnicode(text, index)
        if code in _SPACES or code == 0:
            current = None
            continue
        x0, y0, x1, y1 = text.get_charbox(index)
        box = [(x0 - left) * scale, (top - y1) * scale, (x1 - left) * scale, (top - y0) * scale]
        # The glyph's advance (its loose box) tells whether it touches the previous one.
        start, _, end, _ = text.get_charbox(index, loose=True)
        size = raw.FPDFText_GetFontSize(text, index)
        # A word ends where the glyphs jump apart or back, or the type changes size: cents
        # set small and raised after the dollars (`$2⁹⁹`) stay words of their own, as in OCR.
        if current is not None and (
            abs(start - reach) > 0.15 * max(size, font) or abs(size - font) > 0.2 * font
        ):
            current = None
        if current is None:
            current, font = [], size
            runs.append(current)
        current.append((chr(code), box))
        reach = end
    text.close()
    return [_word(piece) for run in runs for piece in _without_leaders(run)]


def _without_leaders(run: list[tuple[str, list[float]]]) -> list[list[tuple[str, list[float]]]]:
    """A word's glyphs split around dotted leaders set tight against it (`.......$1.29`)."""
    text = "".join(char for char, _ in run)
    pieces, start = [], 0
    for leader in _LEADERS.finditer(text):
        pieces.append(run[start : leader.start()])
        start = leader.end()
    pieces.append(run[start:])
    return [piece for piece in pieces if piece]


def _word(glyphs: list[tuple[str, list[float]]]) -> list[Any]:
    x0 = min(box[0] for _, box in glyphs)
    y0 = min(box[1] for _, box in glyphs)
    x1 = max(box[2] for _, box in glyphs)
    y1 = max(box[3] for _, box in glyphs)
    text = "".join(char for char, _ in glyphs)
    return [text, round(x0), round(y0), max(round(x1 - x0), 1), max(round(y1 - y0), 1)]


def main() -> None:
    # Started ahead of need (PDFium loaded, nothing read yet), then given one document: its
    # request, with the path of a file holding the PDF, as one line on stdin. Its end: none.
    import pypdfium2 as pdfium

    line = sys.stdin.readline()
    if not line:
        return
    request = json.loads(line)
    memory = request["memory"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _cpu_budget(request["seconds"])
    with open(request["path"], "rb") as source:
        data = source.read()
    out = sys.stdout.buffer
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium.raw.FPDF_ERR_PASSWORD:
            _send(out, {"error": "the PDF is encrypted; upload it without a password"})
        else:
            _send(out, {"error": f"the file looks like PDF but cannot be read ({exc}); it may be corrupt"})
        return
    count = len(document)
    _send(out, {"pages": count})
    if request["mode"] == "count" or count > request["max_pages"]:
        return
    for index in range(count):
        _cpu_budget(request["seconds"])
        number = index + 1
        try:
            page = document[index]
            width, height = page.get_size()
            # At `dpi`, or lower when a huge page would exceed the pixel budget (one point more
            # each way: PDFium rounds the bitmap's sides up).
            fit = math.sqrt(request["max_pixels"] / ((width + 1) * (height + 1)))
            scale = min(request["dpi"] / 72, fit)
            words = _words(page, scale) if request["text"] and page.get_rotation() == 0 else []
            if len(words) >= MIN_TEXT_WORDS:
                size = [math.ceil(width * scale), math.ceil(height * scale)]
                _send(out, {"page": number, "size": size, "words": words})
                continue
            bitmap = page.render(scale=scale, grayscale=True)
        except pdfium.PdfiumError as exc:
            _send(out, {"error": f"page {number} of the PDF cannot be rendered ({exc}); it may be corrupt"})
            return
        pixels = bytes(bitmap.buffer)
        _send(out, {"page": number, "size": [bitmap.width, bitmap.height], "stride": bitmap.stride}, pixels)
        bitmap.close()
        page.close()


if __name__ == "__main__":
    main()
