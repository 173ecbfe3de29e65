"""Shared infrastructure: the signed Merkle log every domain appends to (versions, audit)."""
