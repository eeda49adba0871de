"""Playwright fixtures: headless Debian Chromium against pytest-django's live_server.

Playwright's sync API runs an asyncio loop in the main thread, so Django refuses ORM
calls from that thread ("You cannot call this from an async context"). The tests touch
the database only through fixtures, but ``live_server``'s set-up and tear-down (the
flush) run in that thread too, so the guard is switched off for the e2e package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import require_service

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class ConsoleLog:
    """Every console error and uncaught page exception seen by one page."""

    errors: list[str] = field(default_factory=list)
    # Content-Security-Policy violations, from every frame of the page (CSP_LISTENER).
    csp_violations: list[str] = field(default_factory=list)
    # Not asserted on by itself: shown next to the errors so that Chromium's terse
    # "Failed to load resource: 404" says which URL it was.
    failed_responses: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        if self.errors or self.csp_violations:
            lines = (
                self.errors
                + self.csp_violations
                + [f"(HTTP {line})" for line in self.failed_responses]
            )
            pytest.fail("browser console errors:\n" + "\n".join(lines), pytrace=False)


# Runs in every frame before the page's own scripts (Playwright injects it outside the
# page's CSP) and reports each violation through a binding, which the page cannot
# silence by replacing console.error. Browsers dispatch the event on the offending
# element and it bubbles to the document; capture catches it first.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation({
    directive: event.effectiveDirective || event.violatedDirective,
    blocked: event.blockedURI,
    document: event.documentURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
  });
}, true);
"""


@pytest.fixture(scope="session")
def _playwright() -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        require_service(False, "Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser, live_server, console: ConsoleLog):
    """A fresh context (no cookies) per test; console errors and CSP violations land in
    ``console``."""
    # The browser asks for English on purpose: an unprefixed URL must still be Chinese.
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(10_000)

    def on_csp_violation(_source, report: dict) -> None:
        console.csp_violations.append(
            "CSP violation: {directive} blocked {blocked!r} on {document}"
            " ({source}:{line}) {sample!r}".format(**report)
        )

    context.expose_binding("__reportCspViolation", on_csp_violation)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()

    def on_console(msg) -> None:
        if msg.type == "error":
            where = msg.location or {}
            console.errors.append(
                f"console.error: {msg.text}"
                f" ({where.get('url', '')}:{where.get('lineNumber', '')})"
            )

    def on_pageerror(exc) -> None:
        console.errors.append(f"pageerror: {exc}")

    def on_response(response) -> None:
        if response.status >= 400:
            console.failed_responses.append(f"{response.status}: {response.url}")

    page.on("console", on_console)
    page.on("pageerror", on_pageerror)
    page.on("response", on_response)
    yield page
    # A round trip to the browser delivers the reports still in flight; a violation
    # fails the test even if it never called assert_clean.
    if not page.is_closed():
        page.evaluate("0")
    context.close()
    if console.csp_violations:
        pytest.fail("\n".join(console.csp_violations), pytrace=False)
