"""Fixtures of the certificate tests (defined in tests/certificates/world.py)."""

from tests.certificates.world import fake_renderer  # noqa: F401
