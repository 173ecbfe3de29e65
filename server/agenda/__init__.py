"""Subscribable agenda feeds (.ics URLs with a revocable token)."""
