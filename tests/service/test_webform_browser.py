"""The web form in a real browser: Debian's chromium, driven by Debian's chromedriver.

A person fills in the form with the keyboard, submits, opens the follow-up link, sees the
committee's answer (sent by mail from a member) and replies. Screenshots of the form and the
follow-up page are written to the test's folder, or to docs/ with
`CASEBOOK_SCREENSHOTS=docs` (how the pictures of docs/committee/webform.md are refreshed).
Selenium Manager never runs (SE_OFFLINE, an explicit driver path): nothing downloads a browser;
without the packages the test skips and says why.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.service.test_webform import Site, member_reply
from tests.support.waiting import wait_until

DRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def browser():
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    if not Path(DRIVER).exists():
        pytest.skip("no /usr/bin/chromedriver: `make test-deps` installs Debian's chromium-driver")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium: `make test-deps` installs Debian's chromium when run as root")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=480,1400",
                "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(driver, text: str, timeout: float = 15) -> None:
    """Until the page shows `text` (a key press that submits does not wait for the load)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: text in d.page_source)


def type_into(driver, element_id: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, element_id)
    field.click()
    field.send_keys(text)


def test_a_person_reports_in_a_browser_and_reads_the_answer(tmp_path, relay, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    shots = (
        ROOT / os.environ["CASEBOOK_SCREENSHOTS"]
        if "CASEBOOK_SCREENSHOTS" in os.environ
        else tmp_path
    )
    site = Site(tmp_path, relay, max_attachment_size=5 * 1024 * 1024)
    site.start()
    try:
        browser.get(site.base + "/report")
        assert browser.title.startswith("Report an incident")
        # The labels are what a screen reader announces for each field.
        label = browser.find_element(By.CSS_SELECTOR, "label[for=account]").text
        assert label.startswith("What happened")
        type_into(browser, "account", "In the #general chat a user kept insulting me.")
        type_into(browser, "names", "Dave Jones")
        type_into(browser, "when", "yesterday evening")
        type_into(browser, "where", "the #general chat")
        browser.find_element(By.CSS_SELECTOR, "label[for=ongoing-3]").click()  # not sure
        # The honeypot is out of sight and out of the tab order.
        trap = browser.find_element(By.ID, "website")
        assert trap.get_attribute("tabindex") == "-1" and trap.location["x"] < 0
        hidden = browser.find_element(By.CSS_SELECTOR, ".trap").get_attribute("aria-hidden")
        assert hidden == "true"
        browser.execute_script("window.scrollTo(0, 0)")  # the driver's, not the page's
        browser.save_screenshot(str(shots / "webform-report.png"))
        # Sent from the keyboard, as a person using no mouse would.
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").send_keys(Keys.ENTER)

        wait_for(browser, 'id="case-ref"')
        ref = browser.find_element(By.ID, "case-ref").text
        assert ref.startswith("CoC-")
        link = browser.find_element(By.ID, "follow-link")
        assert "/follow/" in link.text
        link.send_keys(Keys.ENTER)
        wait_for(browser, f"Your report {ref}")
        page = browser.current_url

        member_reply(site, ref, "#to-reporter\nThank you for telling us. Was anyone else there?")

        def answered() -> bool:
            browser.get(page)  # the reporter reloads the page
            return "Was anyone else there?" in browser.page_source

        wait_until(answered, "the committee's answer on the page", timeout=15)
        type_into(browser, "text", "Yes, Walter saw it too.")
        browser.save_screenshot(str(shots / "webform-follow-up.png"))
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").send_keys(Keys.ENTER)
        wait_for(browser, "Your reply was sent to the committee")

        def replied():
            with site.db() as db:
                return db.execute(
                    "SELECT COUNT(*) FROM messages WHERE kind = 'followup'"
                ).fetchone()[0]

        assert wait_until(replied, "the reply in the case") == 1
    finally:
        site.service.stop()
