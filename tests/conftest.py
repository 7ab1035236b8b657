"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def no_bundled_weights(monkeypatch):
    """An install without the bundled default weights (a checkout that has not fetched them)."""
    import sepgan.weights

    monkeypatch.setattr(sepgan.weights, "DEFAULT_WEIGHTS", "not-installed")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """A tiny SepConv saved as a weights folder, for CLI tests (``--weights``); one per test module."""
    from sepgan.checkpoint import save_pretrained
    from sepgan.models import create_model

    return save_pretrained(create_model("sepconv-tiny"), tmp_path_factory.mktemp("weights") / "tiny")
