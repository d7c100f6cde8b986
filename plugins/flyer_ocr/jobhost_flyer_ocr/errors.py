"""Why a flyer cannot be processed: refused uploads are permanent, a missing OCR engine is not."""

from __future__ import annotations

from jobhost import PermanentError, RetryLater


class FlyerRejected(PermanentError):
    """The upload can never be processed: empty, too big, not a flyer type, corrupt, unsafe name.

    `status` is the HTTP answer it deserves (400, 413, 415 or 422); `field` names the form field.
    As a `PermanentError` it also ends a job at once, without retries.
    """

    def __init__(self, message: str, *, status: int = 422, field: str = "file") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


class OcrUnavailable(RetryLater):
    """tesseract is missing, crashed or timed out: this try failed, a later one may not."""
