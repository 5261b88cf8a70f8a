"""Start the web app on a free localhost port in a background thread, for the web tests."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from apisr.images import save_rgb
from apisr.synthetic import seeded_frame


@contextmanager
def running_server(app):
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def drawn_picture(path: Path, size: tuple[int, int] = (160, 96)) -> Path:
    """A small synthetic cel of ``size`` (width, height), saved as PNG."""
    width, height = size
    save_rgb(path, seeded_frame(0, height, width))
    return path
