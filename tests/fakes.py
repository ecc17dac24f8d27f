"""The fake provider of the running test, for helpers that script it."""

from __future__ import annotations

import workbench.config
from workbench.providers.fake import FakeProvider


def current_fake() -> FakeProvider:
    """The fake provider handed to this test's runs (made and configured on first use)."""
    found = workbench.config.get_settings().providers.get("fake")
    if not isinstance(found, FakeProvider):
        found = FakeProvider()
        workbench.config.configure(providers=[found])
    return found
