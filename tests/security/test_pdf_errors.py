"""PDFium keeps its last error in one global of the process: read from two threads at once, one
upload's error text was reported for another's (issue 10, finding 15). Each PDF is now read in a
child process of its own, so each answer names its own file's fault."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from jobhost_flyer_ocr.errors import FlyerRejected
from jobhost_flyer_ocr.validate import check_upload
from tests.security.test_pdf_bomb import bomb_pdf

PLAIN = bomb_pdf(levels=1)
FILE_ID = b"<0123456789abcdef0123456789abcdef>"
ENCRYPTED = PLAIN.replace(
    b"trailer\n<< ",
    b"trailer\n<< /Encrypt << /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -4 >> /ID [%s %s] "
    % (b"00" * 32, b"11" * 32, FILE_ID, FILE_ID),
)
CORRUPT = b"%PDF-1.7\n this is not a PDF body"


def refusal(data: bytes) -> str:
    with pytest.raises(FlyerRejected) as caught:
        check_upload(data, "flyer.pdf")
    return str(caught.value)


def test_each_broken_pdf_is_refused_with_its_own_reason():
    assert refusal(ENCRYPTED) == "the PDF is encrypted; upload it without a password"
    corrupt = refusal(CORRUPT)
    assert "cannot be read (Failed to load document (PDFium: Data format error).)" in corrupt
    assert check_upload(PLAIN, "flyer.pdf").pages == 1


def test_concurrent_uploads_never_get_each_others_pdfium_error():
    cases = [ENCRYPTED, CORRUPT] * 8
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(refusal, cases))
    for data, answer in zip(cases, answers, strict=True):
        if data is ENCRYPTED:
            assert "encrypted" in answer and "format" not in answer, answer
        else:
            assert "Data format error" in answer and "password" not in answer, answer
