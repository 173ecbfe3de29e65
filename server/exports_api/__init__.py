"""Exports of stored versions: the download endpoint, the renderer input, the CLI."""
