"""Blind A/B viewing study: prepare clips, serve a voting page, report sound statistics.

- :mod:`~sepgan.study.clips`: trim, align and encode the clips (``sepgan study create``);
- :mod:`~sepgan.study.server`: the FastAPI app that shows pairs and stores votes (``serve``);
- :mod:`~sepgan.study.storage`: SQLite, one row per vote;
- :mod:`~sepgan.study.stats`: Wilson intervals, exact binomial tests, sample sizes;
- :mod:`~sepgan.study.report`: tables, CSV and a chart (``report``).

Heavy dependencies (fastapi, uvicorn, scipy, matplotlib: the ``study`` extra) are
imported by the submodules that need them, not here.
"""

from sepgan.study.config import StudyConfig, StudyError, load_study_config

__all__ = ["StudyConfig", "StudyError", "load_study_config"]
