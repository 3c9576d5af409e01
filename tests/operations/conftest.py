"""Fixtures of the operations tests: the certificates' stand-in renderer."""

from tests.certificates.world import fake_renderer  # noqa: F401
