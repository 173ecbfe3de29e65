"""Errors the renderers raise; the server maps them to 409 with the French message."""

from __future__ import annotations


class ExportNotAllowedError(ValueError):
    """This version cannot be exported in this format (draft to the DMP, no avenant for MDPH...)."""
