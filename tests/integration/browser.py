"""A real headless Chromium (Debian's chromium + chromium-driver) driven by Selenium, with
blocking calls moved off the event loop."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Page:
    url: str
    lang: str
    title: str
    text: str  # what a reader sees (innerText), so escaped markup shows as text


class Browser:
    def __init__(self) -> None:
        self.driver: Any = None
        self._profile = tempfile.TemporaryDirectory()

    def _start(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={self._profile.name}"):
            options.add_argument(flag)
        service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(30)

    async def __aenter__(self) -> Browser:
        await asyncio.to_thread(self._start)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self.driver is not None:
            await asyncio.to_thread(self.driver.quit)
        self._profile.cleanup()

    def _page(self) -> Page:
        from selenium.webdriver.common.by import By

        d = self.driver
        html = d.find_element(By.TAG_NAME, "html")
        return Page(d.current_url, html.get_attribute("lang") or "", d.title,
                    d.find_element(By.TAG_NAME, "body").text)

    async def open(self, url: str) -> Page:
        def go() -> Page:
            self.driver.get(url)
            return self._page()
        return await asyncio.to_thread(go)

    async def fill(self, fields: dict[str, str], selects: dict[str, str] | None = None,
                   checks: tuple[str, ...] = ()) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        def do() -> None:
            for name, value in fields.items():
                element = self.driver.find_element(By.NAME, name)
                element.clear()
                element.send_keys(value)
            for name, value in (selects or {}).items():
                Select(self.driver.find_element(By.NAME, name)).select_by_value(value)
            for name in checks:
                box = self.driver.find_element(By.NAME, name)
                if not box.is_selected():
                    box.click()
        await asyncio.to_thread(do)

    def _click_and_wait(self, element: Any) -> Page:
        """Click something that navigates, and wait for the new page to be there."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        old = self.driver.find_element(By.TAG_NAME, "html")
        element.click()
        wait = WebDriverWait(self.driver, 20)
        wait.until(ec.staleness_of(old))
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        return self._page()

    async def submit(self) -> Page:
        from selenium.webdriver.common.by import By

        def do() -> Page:
            return self._click_and_wait(self.driver.find_element(
                By.CSS_SELECTOR, "form button[type=submit], form input[type=submit]"))
        return await asyncio.to_thread(do)

    async def follow_link_containing(self, fragment: str) -> Page:
        from selenium.webdriver.common.by import By

        def do() -> Page:
            for link in self.driver.find_elements(By.TAG_NAME, "a"):
                if fragment in (link.get_attribute("href") or ""):
                    return self._click_and_wait(link)
            raise AssertionError(f"no link containing {fragment!r}")
        return await asyncio.to_thread(do)
