"""The play page in a real browser: Debian's headless Chromium driven by Playwright.

No browser is downloaded: Playwright's Python package drives ``/usr/bin/chromium`` (CI
installs the ``chromium`` package). Every wait is bounded. Set ``NEURALAB_SCREENSHOTS`` to a
folder to keep screenshots of the page (empty, training, finished, with an error).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.live.server import LiveServer
from neuralab.record import MetricsRecord, RunDir, files

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRAINING_MS = 120_000
SHOTS = os.environ.get("NEURALAB_SCREENSHOTS")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium "
    "(sudo apt-get install chromium; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, timeout=60_000
        )
        yield browser
        browser.close()


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def test_play_trains_circles_exports_and_neuralab_run_reproduces_it(browser, tmp_path):
    from playwright.sync_api import expect

    server = LiveServer(mode="play", output=tmp_path / "saved", upload_dir=tmp_path / "uploads")
    with server:
        # The wrong token gets 403, the page itself no content.
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        response = page.goto(server.url.replace(server.token, "wrong"))
        assert response is not None and response.status == 403
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url)
        expect(page.locator(".finding.ok")).to_be_visible(timeout=60_000)
        # Circles with two hidden Dense(4, relu) layers and a sigmoid output: the default.
        expect(page.locator("#data-name")).to_have_value("circles")
        expect(page.locator("#layers .units")).to_have_count(2)
        for i in range(2):
            expect(page.locator("#layers .units").nth(i)).to_have_value("4")
            expect(page.locator("#layers .activation").nth(i)).to_have_value("relu")
        expect(page.locator("#output-layer")).to_contain_text("Dense(1, sigmoid)")
        _shot(page, "empty")

        # A broken CSV: the loader's message on the page; the page still trains afterwards.
        page.select_option("#data-name", "csv")
        page.set_input_files(
            "#file",
            files=[
                {
                    "name": "broken.csv",
                    "mimeType": "text/csv",
                    "buffer": b"x1,x2,class\n0.1,0.2,0\n0.3,1\n",
                }
            ],
        )
        expect(page.locator("#upload-error")).to_contain_text("broken.csv", timeout=30_000)
        expect(page.locator("#message")).to_be_visible()
        _shot(page, "error")
        page.select_option("#data-name", "circles")
        expect(page.locator(".finding.ok")).to_be_visible(timeout=60_000)

        # A second tab has its own model: it does not disturb the first.
        other = browser.new_page()
        other.goto(server.url)
        expect(other.locator(".finding.ok")).to_be_visible(timeout=60_000)
        other.fill("#epochs", "3")
        other.dispatch_event("#epochs", "change")

        page.click("#start")
        expect(page.locator("#status")).to_have_class(
            re.compile("training|finished"), timeout=60_000
        )
        expect(page.locator("#epoch")).to_have_text(
            re.compile(r"^[1-9]\d* / 100$"), timeout=TRAINING_MS
        )
        _shot(page, "training")
        expect(page.locator("#status")).to_have_class(re.compile("finished"), timeout=TRAINING_MS)
        expect(page.locator("#epoch")).to_have_text("100 / 100")
        shown = page.locator("#test-accuracy").text_content()
        assert shown is not None and float(shown) >= 0.95, shown
        _shot(page, "finished")
        expect(other.locator("#status")).to_have_class(re.compile("idle"))
        other.close()

        with page.expect_download(timeout=30_000) as download:
            page.click("#export")
        spec = tmp_path / download.value.suggested_filename
        download.value.save_as(spec)
        assert spec.name == "play_circles.toml"

        # Save run: a normal run directory with its report, the numbers on the page.
        page.click("#save")
        expect(page.locator("#saved")).to_contain_text("Saved run", timeout=TRAINING_MS)
        (saved,) = (tmp_path / "saved").rglob(files.METRICS)
        assert (saved.parent / files.REPORT).exists()
        assert f"{RunDir(saved.parent).read(MetricsRecord).metric('test'):.4f}" == shown
        assert not errors, errors

    result = CliRunner().invoke(
        app,
        ["--quiet", "run", str(spec), "--output", str(tmp_path / "runs")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (metrics_file,) = (tmp_path / "runs").rglob(files.METRICS)
    record = RunDir(metrics_file.parent).read(MetricsRecord)
    assert f"{record.metric('test'):.4f}" == shown
    assert record.training.epochs_run == 100


def test_a_replay_fills_the_lab_table_and_draws_the_run(browser, tmp_path):
    from playwright.sync_api import expect

    from neuralab.config import parse_experiments
    from neuralab.live.watch import replay_source
    from neuralab.runs.runner import run_experiment

    spec = parse_experiments(
        {
            "name": "moons_run",
            "data": {"name": "moons", "n_samples": 200, "noise": 0.1, "test_size": 0.25},
            "model": {
                "layers": [
                    {"type": "Dense", "units": 8, "activation": "tanh"},
                    {"type": "Dense", "units": 1},
                ]
            },
            "compile": {
                "optimizer": "Adam",
                "learning_rate": 0.05,
                "loss": {"type": "BinaryCrossentropy", "from_logits": True},
            },
            "fit": {"epochs": 8},
        }
    ).experiments[0]
    run = run_experiment(spec, output=tmp_path, write_report=False)
    server = LiveServer(mode="replay", title=str(run.path))
    replay_source(run.path).attach(server)
    with server:
        page = browser.new_page(viewport={"width": 1400, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url)
        row = page.locator("#runs tbody tr")
        expect(row).to_have_count(1, timeout=30_000)
        expect(row.locator("td").last).to_have_text("complete", timeout=60_000)
        expect(page.locator("#epoch")).to_have_text("8 / 8")
        expect(page.locator("#test-accuracy")).to_have_text(f"{run.metric('test'):.4f}")
        _shot(page, "replay")
        assert not errors, errors
