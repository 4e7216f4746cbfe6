"""An HTTP server that answers every request with an error page: HTML 500 (a broken
proxy) by default, or another status (a wrong path: 404)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = b"<html><body><h1>500 Internal Server Error</h1><p>nginx</p></body></html>"


class _ErrorPage(BaseHTTPRequestHandler):
    status = 500
    page = PAGE

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


@contextmanager
def serve_error_page(status: int = 500, page: bytes = PAGE) -> Iterator[str]:
    """The URL of a server on an ephemeral port that only ever answers an error page."""
    handler = type("ErrorPage", (_ErrorPage,), {"status": status, "page": page})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webservice/voice.php"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
