"""JupyterLab in headless Chromium, for the browser tests and ``benchmarks/bench_grid.py``.

``jupyterlab(root, work, theme)`` starts a server on a free loopback port (light or dark theme,
no news popup) and stops it by its PID; ``notebook_page(url, name, profile)`` opens a notebook
in Chromium and runs all cells once the kernel is idle; ``contrast(locator)`` measures the text
contrast of everything visible under an element, as WCAG defines it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from chromium import CHROMIUM, CHROMIUM_ARGS

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    """A notebook of code ``cells`` on the default Python kernel."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)"}
    nbformat.write(nb, path)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(folder: Path, theme: str) -> None:
    apputils = folder / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True, exist_ok=True)
    (apputils / "notification.jupyterlab-settings").write_text(
        json.dumps({"checkForUpdates": False, "fetchNews": "false"})
    )
    (apputils / "themes.jupyterlab-settings").write_text(json.dumps({"theme": THEMES[theme]}))


@contextmanager
def jupyterlab(
    root: Path, work: Path, theme: str = "light", env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """A JupyterLab server serving ``root`` (settings, logs and runtime files in ``work``);
    yields its URL."""
    _settings(work / "settings", theme)
    port = _free_port()
    full_env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        **(env or {}),
    }
    log_path = work / "lab.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--allow-root",
                "--IdentityProvider.token=",
                "--ServerApp.password=",
                "--ServerApp.disable_check_xsrf=True",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.port_retries=0",
            ],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                        break
                except OSError as exc:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            "JupyterLab did not start: " + log_path.read_text()
                        ) from exc
                    time.sleep(0.25)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def notebook_page(
    url: str, name: str, profile: Path, *, run_all: bool = True, height: int = 1300
) -> Iterator[Any]:
    """A headless Chromium page with ``name``.ipynb open; Run All once the kernel is idle."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": height},
        )
        try:
            page = browser.new_page()
            page.goto(f"{url}/lab/tree/{name}.ipynb?reset")  # only this notebook open
            status = page.locator(".jp-StatusBar-TextItem", has_text="| Idle")
            expect(status.first).to_be_visible(timeout=90_000)
            if run_all:
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            yield page
        finally:
            browser.close()


CONTRAST_JS = """
(root) => {
  const parse = (c) => {
    let m = c.match(/^rgba?\\(([^)]+)\\)$/);
    if (m) {
      const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
      return [p[0] / 255, p[1] / 255, p[2] / 255, p.length > 3 ? p[3] : 1];
    }
    m = c.match(/^color\\(srgb ([^)]+)\\)$/);
    if (m) {
      const p = m[1].split(/[ \\/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    return null;
  };
  const lin = (c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const background = (e) => {
    const layers = [];
    for (let n = e; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    let bg = [1, 1, 1, 1];
    if (layers.length && layers[layers.length - 1][3] >= 1) bg = layers.pop();
    while (layers.length) bg = over(layers.pop(), bg);
    return bg;
  };
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const text = t.textContent.trim();
    const e = t.parentElement;
    if (!text || !e || e.closest("script, style")) continue;
    const rect = e.getBoundingClientRect();
    const style = getComputedStyle(e);
    if (!rect.width || !rect.height || style.visibility === "hidden" || style.display === "none") continue;
    const svg = e instanceof SVGElement;
    const fg = parse(svg ? style.fill : style.color);
    if (!fg) continue;
    const bg = background(svg ? e.closest("svg") || e : e);
    const opacity = Number(style.opacity);
    const shown = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
    const l1 = lum(shown), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    out.push({ text: text.slice(0, 40), ratio: Math.round(ratio * 100) / 100,
               cls: (e.className && e.className.baseVal !== undefined ? e.className.baseVal : e.className) || e.tagName });
  }
  return out;
}
"""
"""Every visible text node under an element: its text, the contrast ratio of its colour (fill in
SVG) against the first opaque background up its parents (translucent layers composed), and the
class of its element."""


def contrast(locator: Any) -> list[dict[str, Any]]:
    """Contrast of each visible text under ``locator`` (see :data:`CONTRAST_JS`)."""
    found: list[dict[str, Any]] = locator.evaluate(CONTRAST_JS)
    return found


def low_contrast(locator: Any, minimum: float = 4.5) -> list[dict[str, Any]]:
    """The texts under ``locator`` below ``minimum`` (WCAG AA: 4.5:1)."""
    return [t for t in contrast(locator) if t["ratio"] < minimum]


def theme_of(page: Any) -> str:
    """``light`` or ``dark``, as JupyterLab reports it."""
    light = page.evaluate("document.body.dataset.jpThemeLight")
    return "light" if light == "true" else "dark"
