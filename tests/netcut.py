"""A loopback TCP proxy that cuts the connection once, mid-upload, like a flaky uplink."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttingProxy:
    """Forwards to ``target``; once more than ``cut_after`` request bytes have passed in
    all (counted over every connection), the connection carrying that byte is hung up."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.cuts = 0
        self.forwarded = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CuttingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, request_side: bool) -> None:
        try:
            while data := src.recv(65536):
                if request_side and self.cuts == 0 and self.forwarded + len(data) > self.cut_after:
                    dst.sendall(data[: self.cut_after - self.forwarded])
                    self.cuts += 1
                    return  # the finally below hangs up on both sides
                dst.sendall(data)
                if request_side:
                    self.forwarded += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
