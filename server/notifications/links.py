"""Where a notice leads in the editor (the bell, emails, SMS)."""

from __future__ import annotations

from server.models.notifications import Notice

DIFF_NATURES = frozenset({"ppa.iteration", "agenda.planning_changed"})
"""Natures whose notice leads to the diff with the previous version (what the iteration
changed, what changed in the planning); another notice about a version leads to that version."""


def notice_path(notice: Notice) -> str:
    """The editor's route of what a notice is about: the diff of a new iteration with the
    previous version, a version, else the PPA (or the home page)."""
    if not notice.ppa_id:
        return "#/"
    ppa = f"#/ppa/{notice.ppa_id}"
    number = notice.version_number
    if number is None:
        return ppa
    if notice.nature in DIFF_NATURES and number > 1:
        return f"{ppa}/diff/{number - 1}/{number}"
    return f"{ppa}/version/{number}"
