"""Regenerate the README's back-office screenshots from the demo data.

    make run                                             # in one terminal (demo data, admin/admin)
    .venv/bin/python -m tests.browser.readme_screenshots  # in another; or pass the server's URL

Writes docs/screenshots/subscriptions-list.png and docs/screenshots/dashboard.png.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PAGES = {
    "dashboard": "/admin/",
    "subscriptions-list": "/admin/subscriptions/ordersubscription/",
    "copies-failed": "/admin/copies/recurringordercopy/?status__exact=failed",
}


def main(base_url: str = "http://127.0.0.1:8000") -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=base_url, viewport={"width": 1400, "height": 1000})
        page.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "admin")
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")
        for name, path in PAGES.items():
            page.goto(path)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
            print(SCREENSHOTS / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:2])
