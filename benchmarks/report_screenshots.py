"""A screenshot of each view of the interactive report, for docs/images/ (issue 29).

The study is the report benchmark's synthetic one at 40 trials x 4 seeds x 30 epochs (four
searched axes, one on a log scale, some failed fits; no Keras involved, see benchmarks/report.py),
built with ``build_report`` and opened from ``file://`` in Debian's headless Chromium through
Playwright at 1,280 px. Each view is captured as the user sees it: the optimisation history with a
seed dot hovered, the slice plots, the parallel coordinates, the importances beside the seed-noise
share, the configs table at 1,280 px, the compare view with two configs picked, and a config's page with its curves on a log
scale, one seed hidden, and its paired differences from the best.

Usage::

    python benchmarks/report_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def build(folder: Path) -> Path:
    from report import generate

    from tuning.report import build_report

    name = generate(folder / "shots.db", 40, 4, 30)
    return build_report(name, f"sqlite:///{folder / 'shots.db'}", folder / "report")


def hover_first_dot(page, plot: str) -> None:
    x, y = page.evaluate("""(id) => { const gd = document.getElementById(id), xa = gd._fullLayout.xaxis,
        ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect(), t = gd._fullData[0];
        const i = t.y.indexOf(Math.max(...t.y.filter(v => v !== null)));
        return [box.left + xa._offset + xa.l2p(xa.d2l(t.x[i])), box.top + ya._offset + ya.l2p(ya.d2l(t.y[i]))]; }""", plot)
    page.mouse.move(x, y)
    page.locator(f"#{plot} .hoverlayer .hovertext").first.wait_for()


def shoot(index: Path, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(index.as_uri())
        page.wait_for_selector("#plot-history .main-svg")

        def grab(name: str, selector: str) -> None:
            path = out / f"report-{name}.png"
            page.locator(selector).screenshot(path=str(path))
            shots.append(path)

        page.set_viewport_size({"width": 1280, "height": 1100})
        page.screenshot(path=str(out / "report-index.png"))  # the top: verdict, best config, the table
        shots.append(out / "report-index.png")
        box = page.locator("#summary").bounding_box()  # the configs table's first rows, at 1,280 px
        page.screenshot(path=str(out / "report-configs.png"), full_page=True,
                        clip={"x": 0, "y": box["y"] - 60, "width": 1280, "height": min(box["height"], 640) + 60})
        shots.append(out / "report-configs.png")
        page.locator("#plot-history").scroll_into_view_if_needed()
        hover_first_dot(page, "plot-history")
        grab("history", "#plot-history")
        for plot in ("plot-slices", "plot-parallel", "plot-importance"):
            page.locator(f"#{plot}").scroll_into_view_if_needed()
            page.wait_for_selector(f"#{plot} .main-svg")
            page.wait_for_timeout(300)
        grab("slices", "#plot-slices")
        grab("parallel", "#plot-parallel")
        grab("importance", "xpath=//div[@id='plot-importance']/..")
        page.locator("#compare").scroll_into_view_if_needed()
        page.wait_for_selector("#plot-compare .main-svg")
        keys = page.eval_on_selector_all("#compare-a option", "os => os.map(o => o.value)")
        page.select_option("#compare-a", keys[0])
        page.select_option("#compare-b", keys[2])
        page.wait_for_timeout(300)
        grab("compare", "#compare")
        page.locator("#summary tbody tr").nth(1).locator("a").click()  # rank 2: its comparison with the best
        page.wait_for_selector("#plot-curves .main-svg")
        page.locator("#log-scale").check()
        page.locator("#seed-toggles input").nth(1).uncheck()
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / "report-config.png"), full_page=True)
        shots.append(out / "report-config.png")
        browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "images")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tuning-shots-") as folder:
        index = build(Path(folder))
        for path in shoot(index, args.out):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
