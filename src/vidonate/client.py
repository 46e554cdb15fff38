"""A small client of the vidonate HTTP API, used by the CLI and the demo.

Uploads go over tus with tuspy, in chunks, retrying from the server's offset
after a cut connection. With a URL store the upload also resumes across runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError
from tusclient.fingerprint.fingerprint import Fingerprint
from tusclient.storage.filestorage import FileStorage
from tusclient.uploader import Uploader

from vidonate.errors import VidonateError
from vidonate.reasons import PENDING
from vidonate.secret_file import replace_private_file
from vidonate.web.headers import DONATION_HEADER, decimal

CHUNK_SIZE = 8 * 1024 * 1024


class Sha256Uploader(Uploader):
    """tuspy hashes chunks with sha1 unless told otherwise; vidonate checks sha256."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)

    def _retry_or_cry(self, error: Exception) -> None:
        # tuspy retries every failure; a refusal (4xx) will not change on retry, and
        # retrying it would hide the server's reason behind a later 404.
        status = getattr(error, "status_code", None)
        if status is not None and 400 <= status < 500 and status not in (409, 423):
            raise error
        super()._retry_or_cry(error)


@dataclass(frozen=True)
class Uploaded:
    """A finished upload, and the donation it filled (None if the server did not say)."""

    url: str
    donation_id: int | None


class ApiError(VidonateError):
    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status_code = status_code


class ServerUnreachable(ApiError):
    """No answer from the server at all: refused, unknown host, timed out, TLS failed."""

    def __init__(self, server: str, why: str, hint: str) -> None:
        super().__init__(0, "server_unreachable", f"could not reach {server} ({why}): {hint}")


_START_HINT = "is the server running? start it with `make run`, or pass --server"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (httpx, requests and urllib3 each wrap the socket's
    error in their own, through causes, contexts, ``reason`` or ``args``)."""
    seen: list[BaseException] = []
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        stack += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return seen


def unreachable(server: str, exc: BaseException) -> ServerUnreachable | None:
    """The one-line reason why ``server`` did not answer, if that is what ``exc`` means."""
    causes = _causes(exc)
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError):
            return ServerUnreachable(server, "connection refused", _START_HINT)
        if isinstance(cause, socket.gaierror):
            return ServerUnreachable(
                server, "its host name is unknown", "check the address, or pass --server"
            )
        if isinstance(cause, ssl.SSLError):
            return ServerUnreachable(
                server,
                f"TLS failed: {cause.reason or type(cause).__name__}",
                "check http:// or https:// in the address, and the server's certificate",
            )
    for cause in causes:
        if isinstance(cause, (TimeoutError, httpx.TimeoutException)):
            return ServerUnreachable(
                server, "timed out", "is the address right and the network up? or pass --server"
            )
    for cause in causes:
        if isinstance(cause, (ConnectionError, httpx.TransportError)):
            return ServerUnreachable(server, f"connection failed: {cause}", _START_HINT)
    return None


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        code, message = error["code"], error["message"]
    except (ValueError, KeyError, TypeError):
        code, message = f"http_{response.status_code}", response.text[:200]
    raise ApiError(response.status_code, code, message)


def credentials_path() -> Path:
    configured = os.environ.get("VIDONATE_CREDENTIALS")
    if configured:
        return Path(configured)
    return (
        Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
        / "vidonate"
        / "credentials.json"
    )


def save_credentials(server: str, token: str) -> Path:
    """Save the login for later commands; the token is private to the user from the start."""
    path = credentials_path()
    replace_private_file(path, json.dumps({"server": server, "token": token}).encode())
    return path


def load_credentials() -> dict[str, str]:
    path = credentials_path()
    return json.loads(path.read_text()) if path.exists() else {}


@dataclass
class Api:
    server: str
    token: str | None = None
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.server = self.server.rstrip("/")
        self.http = httpx.Client(base_url=f"{self.server}/api/v1", timeout=60, headers=self._auth())

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise unreachable(self.server, exc) or exc from exc
        _raise_for(response)
        return response.json() if response.content else None

    def login(self, username: str, password: str) -> str:
        self.token = self.call(
            "POST", "/auth/token", json={"username": username, "password": password}
        )["token"]
        self.http.headers.update(self._auth())
        return self.token

    def campaign(self, ref: str) -> dict[str, Any]:
        return self.call("GET", f"/campaigns/{ref}")

    def add_camera(self, label: str, placement: str) -> dict[str, Any]:
        return self.call("POST", "/cameras", json={"label": label, "placement": placement})

    def withdraw(self, donation_id: int | None) -> dict[str, Any]:
        """Withdraw one clip, or everything when ``donation_id`` is None."""
        path = "/me/withdraw" if donation_id is None else f"/donations/{donation_id}/withdraw"
        return self.call("POST", path)

    def export(self, dest: Path, on_progress: Callable[[int], None] | None = None) -> int:
        """Download the data export zip to ``dest`` (via a temp file); returns its size."""
        partial = dest.with_name(dest.name + ".part")
        try:
            return self._export(dest, partial, on_progress)
        except httpx.TransportError as exc:
            partial.unlink(missing_ok=True)
            raise unreachable(self.server, exc) or exc from exc

    def _export(self, dest: Path, partial: Path, on_progress: Callable[[int], None] | None) -> int:
        size = 0
        with self.http.stream("GET", "/me/export", timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for(response)
            with partial.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    size += len(chunk)
                    if on_progress is not None:
                        on_progress(size)
        partial.replace(dest)
        return size

    def upload(
        self,
        path: Path,
        metadata: dict[str, str],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        resume_store: Path | None = None,
        chunk_size: int = CHUNK_SIZE,
        retries: int = 30,
    ) -> Uploaded:
        """Upload one file over tus. Resumes where the server stopped; a failure that is
        not a refusal (a server gone, the store down for a while: 5xx, no answer) is
        retried a second apart, `retries` times, from the offset the server holds."""
        tus = tus_client.TusClient(f"{self.server}/api/v1/uploads", headers=self._auth())
        options: dict[str, Any] = {}
        if resume_store is not None:
            resume_store.parent.mkdir(parents=True, exist_ok=True)
            options = {"store_url": True, "url_storage": FileStorage(str(resume_store))}

        def make_uploader() -> Uploader:
            return Sha256Uploader(
                str(path),
                client=tus,
                chunk_size=chunk_size,
                metadata=metadata,
                retries=retries,
                retry_delay=1,
                upload_checksum=True,
                **options,
            )

        try:
            try:
                uploader = make_uploader()
            except TusCommunicationError:
                if not options:
                    raise
                # The remembered upload expired or was cancelled: forget it, start afresh.
                storage = options["url_storage"]
                storage.remove_item(Fingerprint().get_fingerprint(path.open("rb")))
                uploader = make_uploader()
            if uploader.url is None:  # created first, so an empty file meets the server's "no"
                uploader.set_url(uploader.create_url())
            total = uploader.get_file_size()
            while uploader.offset < total:
                uploader.upload_chunk()
                if on_progress:
                    on_progress(uploader.offset, total)
        except Exception as exc:  # tuspy raises its own errors; give ours with the server's code
            raise unreachable(self.server, exc) or _tus_error(exc) from exc
        if resume_store is not None and uploader.url_storage is not None:
            uploader.url_storage.remove_item(uploader._get_fingerprint())
        answered: dict[str, str] = (
            uploader.request.response_headers if uploader.request is not None else {}
        )
        donation = decimal(answered.get(DONATION_HEADER.lower()))
        return Uploaded(uploader.url or "", donation)

    def donation(self, donation_id: int) -> dict[str, Any]:
        return self.call("GET", f"/donations/{donation_id}")

    def donations(self) -> list[dict[str, Any]]:
        return self.call("GET", "/donations")


def _tus_error(exc: Exception) -> Exception:
    content = getattr(exc, "response_content", None)
    status = getattr(exc, "status_code", None) or 0
    if content:
        try:
            error = json.loads(content)["error"]
            return ApiError(status, error["code"], error["message"])
        except (ValueError, KeyError, TypeError):
            pass
    return ApiError(status, "upload_failed", str(exc))


def wait_for_outcomes(
    api: Api,
    donation_ids: list[int],
    timeout: float,
    on_update: Callable[[dict[str, Any]], None] | None = None,
    poll_s: float = 1.0,
) -> dict[int, dict[str, Any]]:
    """Poll each donation until it leaves processing (or ``timeout`` seconds pass);
    ``on_update`` sees each state as it is read. Returns the last state of each."""
    import time

    deadline = time.monotonic() + timeout
    latest: dict[int, dict[str, Any]] = {}
    while True:
        for donation_id in donation_ids:
            if donation_id in latest and latest[donation_id]["status"] not in PENDING:
                continue
            latest[donation_id] = api.donation(donation_id)
            if on_update is not None:
                on_update(latest[donation_id])
        if all(d["status"] not in PENDING for d in latest.values()):
            return latest
        if time.monotonic() > deadline:
            return latest
        time.sleep(poll_s)


def wait_for(
    api: Api, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float
) -> list[dict[str, Any]]:
    """Poll the donor's donations until ``predicate`` holds or ``timeout`` seconds pass."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        donations = api.call("GET", "/donations")
        if predicate(donations) or time.monotonic() > deadline:
            return donations
        time.sleep(0.5)
