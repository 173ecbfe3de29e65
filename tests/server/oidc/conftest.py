"""The OpenID provider and relying party fixtures (tests/server/oidc/fixtures.py)."""

from tests.server.oidc.fixtures import (  # noqa: F401 - fixtures
    client_key,
    keyed_rp,
    keyed_rp_port,
    op,
    rp,
    rp_port,
    walker,
)
