"""OpenID Connect relying party: professionals log in with Pro Santé Connect.

See docs/authentication.md.
"""
