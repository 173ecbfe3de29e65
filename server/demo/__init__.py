"""The demo: its people and structures, its PPA, last year's history (a composition root like
``server/app.py``: it may use every domain, no domain uses it). The PPA's content is
:mod:`exports.sample_content`, shared with the exports' sample."""

from exports.sample_content import demo_content
from server.demo.seed import DemoInfo, seed_demo, seed_demo_database

__all__ = ["DemoInfo", "demo_content", "seed_demo", "seed_demo_database"]
