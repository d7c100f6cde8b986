"""Stage 3: tesseract reads the prepared page into words with boxes and confidences.

pytesseract is handed a file path, not a PIL image: given an image it re-encodes it as PNG
first, which costs 20-30 % of the OCR time. We write a one-bit PBM instead, which costs nearly
nothing. `--psm 11` (sparse text) finds every phrase of a flyer as its own line, so a price such
as `$1.59/100 g` stays whole even when its cell sits beside others; `extract` pairs names with
prices by their boxes, not by tesseract's line order.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

import pytesseract

from jobhost_flyer_ocr.errors import OcrUnavailable
from jobhost_flyer_ocr.model import Box, PreparedPage, Word

# One OpenMP thread per tesseract: on a small machine its threads fight each other (8 s instead
# of 1.5 s a page); parallelism comes from running several jobs (WORKER_CONCURRENCY). The
# subprocess inherits os.environ; an operator's own value wins.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

PSM = 11
LANGUAGE = "eng"


def recognise(
    page: PreparedPage, *, timeout: float = 0, psm: int = PSM, lang: str = LANGUAGE, config: str = ""
) -> list[Word]:
    """Every word tesseract finds, in the prepared page's pixels; `timeout` 0 means none.

    `config` adds tesseract options (`-c tessedit_char_whitelist=0123456789` for digits only).

    A missing tesseract, a crash or a timeout raise `OcrUnavailable` (retry later): the upload
    is not at fault. On timeout pytesseract kills the tesseract process.
    """
    with tempfile.TemporaryDirectory(prefix="flyer-ocr-") as folder:
        if page.image.mode == "1":
            path = os.path.join(folder, "page.pbm")
            page.image.save(path)
        else:
            path = os.path.join(folder, "page.png")
            page.image.save(path, compress_level=1)
        try:
            data = pytesseract.image_to_data(
                path,
                lang=lang,
                config=f"--psm {psm} {config}".strip(),
                output_type=pytesseract.Output.DICT,
                timeout=timeout,
            )
        except pytesseract.TesseractNotFoundError:
            raise OcrUnavailable(
                f"tesseract is not installed or not on PATH ({pytesseract.pytesseract.tesseract_cmd!r}); "
                "install tesseract-ocr"
            ) from None
        except pytesseract.TesseractError as exc:
            raise OcrUnavailable(f"tesseract failed on page {page.number}: {exc.message}") from None
        except (subprocess.CalledProcessError, OSError) as exc:  # `tesseract --version` failed, or exec did
            raise OcrUnavailable(f"tesseract cannot run: {exc}") from None
        except RuntimeError as exc:  # pytesseract's timeout, after it killed tesseract
            raise OcrUnavailable(f"tesseract ran longer than {timeout:g} s on page {page.number}") from exc
    return words_of(data)


def words_of(data: dict[str, list]) -> list[Word]:
    """The words of pytesseract's `image_to_data` dict, without empty entries."""
    words = []
    for index, text in enumerate(data["text"]):
        text = text.strip()
        if not text or int(data["level"][index]) != 5:
            continue
        box = Box(data["left"][index], data["top"][index], data["width"][index], data["height"][index])
        line = (data["block_num"][index], data["par_num"][index], data["line_num"][index])
        words.append(Word(text, box, max(float(data["conf"][index]), 0.0), line))
    return words
