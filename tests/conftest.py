"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_bundled_weights(monkeypatch):
    """An install without the bundled default weights (a checkout that has not fetched them)."""
    import sepgan.weights

    monkeypatch.setattr(sepgan.weights, "DEFAULT_WEIGHTS", "not-installed")
