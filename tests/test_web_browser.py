"""End to end: a real headless Chromium drives the `apisr serve` page (Debian's chromium; CI installs it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cdp import Browser, find_chromium
from video_samples import save_model
from web_server import drawn_picture, running_server

CHROMIUM = find_chromium()
ARTIFACTS = Path(os.environ.get("APISR_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "build" / "test-artifacts"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); .ci/run installs it"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from apisr.web.app import ServerSettings, create_app

    models = tmp_path_factory.mktemp("models")
    save_model(models / "tiny-2x.safetensors", scale=2)
    with running_server(create_app(ServerSettings(models_dir=models, device="cpu"))) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with Browser(CHROMIUM) as browser:
        yield browser


def _open(browser: Browser, site: str) -> None:
    """The page, with the test's tiny 2x model chosen (bundled models are listed too, and may be the default)."""
    browser.goto(site + "/")
    browser.wait_for("document.querySelector('#model').options.length > 0")
    browser.evaluate("document.querySelector('#model').value = 'folder:tiny-2x.safetensors'")
    assert browser.evaluate("document.querySelector('#model').value") == "folder:tiny-2x.safetensors"


def test_upload_a_picture_and_get_it_back_upscaled(browser, site, tmp_path):
    picture = drawn_picture(tmp_path / "cel.png", (160, 96))
    _open(browser, site)
    browser.set_files("#files", [picture])
    browser.evaluate("document.querySelector('#run').click()")
    state = browser.wait_for("['done', 'failed', 'error'].includes(document.body.dataset.state) && document.body.dataset.state")
    assert state == "done", browser.evaluate("document.querySelector('#error').textContent")
    sizes = browser.wait_for(
        "(() => { const a = document.querySelector('.result img.after'), b = document.querySelector('.result img.before');"
        " return a && b && a.complete && b.complete && a.naturalWidth > 0 && b.naturalWidth > 0"
        " && [a.naturalWidth, a.naturalHeight, b.naturalWidth, b.naturalHeight]; })()"
    )
    assert sizes == [320, 192, 160, 96]
    assert browser.evaluate("document.querySelector('.result .sizes').textContent") == "160×96 → 320×192"
    assert browser.evaluate("document.querySelector('.result .download').getAttribute('href')").endswith("/output?download=1")
    # Pixel zoom and the comparison slider, as a user would set them for a close look.
    browser.evaluate(
        "(() => { const z = document.querySelector('.zoom'); z.value = '2'; z.dispatchEvent(new Event('change'));"
        " const s = document.querySelector('.split'); s.value = '45'; s.dispatchEvent(new Event('input')); })()"
    )
    assert browser.evaluate("document.querySelector('.canvas').style.width") == "640px"
    assert browser.evaluate("document.querySelector('.result img.before').style.clipPath") == "inset(0px 55% 0px 0px)"
    browser.screenshot(ARTIFACTS / "serve.png")
    assert (ARTIFACTS / "serve.png").stat().st_size > 10_000


def test_a_file_that_is_not_a_picture_shows_a_clear_error(browser, site, tmp_path):
    text = tmp_path / "notes.png"  # a misleading name: the server looks at the content
    text.write_text("these are not pixels\n")
    _open(browser, site)
    browser.set_files("#files", [text])
    browser.evaluate("document.querySelector('#run').click()")
    browser.wait_for("document.body.dataset.state === 'error'")
    message = browser.evaluate("document.querySelector('#error').textContent")
    assert message == "notes.png: not an image or a video this server can read"
    assert browser.evaluate("document.querySelector('#error').hidden") is False
    assert browser.evaluate("document.querySelectorAll('.result').length") == 0


def test_a_video_comes_back_as_a_download(browser, site, tmp_path):
    from video_samples import write_clip

    clip = write_clip(tmp_path / "clip.mp4", [0, 40, 80, 120])
    _open(browser, site)
    browser.set_files("#files", [clip])
    browser.evaluate("document.querySelector('#run').click()")
    assert browser.wait_for("['done', 'failed', 'error'].includes(document.body.dataset.state) && document.body.dataset.state") == "done"
    assert browser.evaluate("document.querySelector('.result .sizes').textContent") == "64×48 → 128×96"
    assert browser.evaluate("document.querySelector('#progress').value") == 1
    href = browser.evaluate("document.querySelector('.result .download').href")
    size = browser.evaluate(f"fetch({href!r}).then(r => r.ok && r.headers.get('content-disposition') && r.blob()).then(b => b.size)")
    assert size > 1000
