"""Errors a user can cause, each with a stable reason code.

Every error that crosses the API or the CLI is a :class:`VidonateError`. Its
``code`` is a stable, snake_case reason that clients may match on; its
``message`` is for people. The HTTP status is chosen by the subclass::

    VidonateError                  400  generic bad request
    ├── InvalidInput               400  malformed or missing fields
    ├── NotAuthenticated           401
    ├── Forbidden                  403  authenticated, but not allowed
    ├── NotFound                   404  unknown, or someone else's
    ├── MethodNotAllowed           405  carries the ``allow``-ed methods
    ├── Conflict                   409  state does not allow it (e.g. offset mismatch)
    ├── Gone                       410  expired upload
    ├── PreconditionFailed         412  tus version header missing
    ├── PayloadTooLarge            413  Tus-Max-Size, body overrun, quota
    ├── UnsupportedContentType     415  PATCH body of the wrong type
    ├── RangeNotSatisfiable        416  a byte range outside the clip
    ├── UnsupportedMedia           422  the file is not an acceptable video
    ├── InvalidRequest             422  a JSON body or parameter of the wrong shape
    ├── TooManyRequests            429  a rate limit; carries ``retry_after`` seconds
    ├── ChecksumMismatch           460  tus checksum extension
    ├── ServiceUnavailable         503  a part the server needs (the blob store) is down
    └── ProcessingFailed           --   stored on the donation, never raised to HTTP
"""

from __future__ import annotations


class VidonateError(Exception):
    status_code = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidInput(VidonateError):
    status_code = 400


class NotAuthenticated(VidonateError):
    status_code = 401


class Forbidden(VidonateError):
    status_code = 403


class NotFound(VidonateError):
    status_code = 404


class MethodNotAllowed(VidonateError):
    status_code = 405

    def __init__(self, code: str, message: str, allow: str) -> None:
        super().__init__(code, message)
        self.allow = allow


class Conflict(VidonateError):
    status_code = 409


class Gone(VidonateError):
    status_code = 410


class PreconditionFailed(VidonateError):
    status_code = 412


class PayloadTooLarge(VidonateError):
    status_code = 413


class UnsupportedContentType(VidonateError):
    status_code = 415


class RangeNotSatisfiable(VidonateError):
    status_code = 416


class InvalidRequest(VidonateError):
    status_code = 422


class UnsupportedMedia(VidonateError):
    """The file cannot become a clip: not a video, unreadable, too short, too long, too big."""

    status_code = 422


class TooManyRequests(VidonateError):
    """A rate limit was hit; the next request may pass after ``retry_after`` seconds."""

    status_code = 429

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class ChecksumMismatch(VidonateError):
    status_code = 460


class ServiceUnavailable(VidonateError):
    """A part the server depends on does not answer; the same request may pass later."""

    status_code = 503


class ProcessingFailed(VidonateError):
    """A background job could not finish; the code is stored on the donation."""
