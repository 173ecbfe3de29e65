"""Versions of PPAs: history, validation, avenants, restores, revisions, diffs, audit bundles."""
