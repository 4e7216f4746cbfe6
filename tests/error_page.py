"""An HTTP server that answers every request with an HTML 500 page (a broken proxy)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = b"<html><body><h1>500 Internal Server Error</h1><p>nginx</p></body></html>"


class _ErrorPage(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(500)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


@contextmanager
def serve_error_page() -> Iterator[str]:
    """The URL of a server on an ephemeral port that only ever answers an error page."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ErrorPage)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webservice/voice.php"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
