"""The HTML report: self-contained, and its charts render in a real (headless) browser.

Chromium comes from Debian's packages: installed by the test set-up when
/usr/bin/chromium is missing (as root, like CI). The screenshot of the
end-to-end run's report is kept as reports/health_report.png for a person to
look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from customer_health import PROJECT_DIR
from customer_health.report import write_report

CHARTS = ("grades", "risk_history", "mrr", "sentiment", "retention", "backtest")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, env=env, timeout=600)
        proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    found = shutil.which("chromium")
    if not found:
        pytest.fail(f"chromium could not be installed from Debian's packages:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return found


def browser(chromium: str, page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / f"chromium-profile-{len(list(tmp.glob('chromium-profile-*')))}"
    proc = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def rendered_charts(chromium: str, page: Path, tmp: Path) -> dict[str, int]:
    """Chart name -> number of drawn SVG shapes, as the browser's DOM has them after loading the page."""
    dom = browser(chromium, page, tmp, "--dump-dom").stdout
    assert "</html>" in dom
    charts = {}
    for match in re.finditer(r'<figure class="chart" data-chart="(\w+)">(.*?)</figure>', dom, re.S):
        charts[match.group(1)] = len(re.findall(r"<(?:path|rect|use|line|polyline)\b", match.group(2)))
    return charts


def screenshot(chromium: str, page: Path, png: Path, tmp: Path, grade_colours: bool = False) -> None:
    browser(chromium, page, tmp, f"--screenshot={png}", "--window-size=1280,3600")
    from PIL import Image

    with Image.open(png) as img:
        assert img.size == (1280, 3600)
        rgb = img.convert("RGB")
        small = rgb.resize((320, 900))
        colours = small.getcolors(maxcolors=1 << 20)
        assert len(colours) > 200, "the page looks blank"
        background = max(colours)[1]
        ink = sum(n for n, c in colours if sum(abs(a - b) for a, b in zip(c, background)) > 60)
        assert ink > 0.05 * 320 * 900, "almost nothing drawn"
        if not grade_colours:
            return
        # The grade colours of the charts and table are on screen (green A, red D).
        pixels = set(c for _, c in rgb.getcolors(maxcolors=1 << 22))
        assert any(_near(p, (0x1A, 0x98, 0x50)) for p in pixels) and any(_near(p, (0xD7, 0x30, 0x27)) for p in pixels)


def _near(a, b, tolerance=12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    remote = re.findall(r'(?:src|href)\s*=\s*"(?:https?:)?//[^"]*"|url\(\s*[\'"]?(?:https?:)?//|@import', html)
    assert not remote, f"the page loads from the network: {remote[:5]}"
    assert not re.findall(r'<img\b[^>]*src="(?!data:)', html), "an image that is not inline"


def test_report_of_every_public_table_renders_every_chart(tiny_warehouse, tmp_path, chromium):
    page = write_report(tiny_warehouse, tmp_path / "report.html",
                        manifest={"run_id": "test-run", "published_at": "2026-11-01T06:00:00+00:00",
                                  "raw_warnings": 2, "tables": {"mart_customer_health": 40}})
    html = page.read_text()
    assert_self_contained(html)
    for section in ("Accounts by grade and segment", "The customers most at risk", "Their score over time",
                    "New alerts on 2026-10-31", "MRR movements month by month", "NPS and CSAT", "Retention",
                    "Does the score predict churn?"):
        assert section in html, section
    assert "Account 7" not in html.split("Their score over time")[0]  # not graded (coverage 10): not ranked
    charts = rendered_charts(chromium, page, tmp_path)
    assert set(charts) == set(CHARTS)
    thin = {name: n for name, n in charts.items() if n < 10}
    assert not thin, f"charts with (almost) nothing drawn: {thin}"
    screenshot(chromium, page, tmp_path / "report.png", tmp_path, grade_colours=True)


def test_the_run_report_renders_and_a_screenshot_is_kept(health_run, tmp_path, chromium):
    work, proc = health_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = work / "reports" / "health_report.html"
    html = page.read_text()
    assert_self_contained(html)
    assert "data_docs/index.html" in html  # the link to the data-quality pages
    charts = rendered_charts(chromium, page, tmp_path)
    # Charts whose data exists at this size: grades, MRR, sentiment, retention at least.
    assert {"grades", "mrr", "sentiment", "retention"} <= set(charts), charts
    assert all(n >= 10 for n in charts.values()), charts
    png = work / "reports" / "health_report.png"
    screenshot(chromium, page, png, tmp_path)
    keep = PROJECT_DIR / "reports"
    keep.mkdir(exist_ok=True)
    shutil.copy(png, keep / "health_report.png")

