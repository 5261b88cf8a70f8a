"""Start the web app on a free localhost port in a background thread, for the web tests."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


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
    """A small flat-colour drawing with dark outlines, like a cel."""
    width, height = size
    image = Image.new("RGB", size, (250, 232, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, height * 2 // 3, width, height], fill=(120, 170, 220))
    draw.ellipse([width // 4, height // 8, width * 3 // 4, height * 7 // 8], fill=(255, 214, 170), outline=(40, 30, 40), width=3)
    for x in (width * 5 // 12, width * 7 // 12):
        draw.ellipse([x - 6, height // 2 - 8, x + 6, height // 2 + 8], fill=(70, 110, 200), outline=(20, 20, 40), width=2)
    draw.arc([width * 5 // 12, height * 9 // 16, width * 7 // 12, height * 3 // 4], 20, 160, fill=(150, 40, 60), width=2)
    noise = np.random.default_rng(0).normal(0, 4, (height, width, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path
