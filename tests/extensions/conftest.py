"""Fixtures of the extensions' tests: the BatchData stand-in of the skip-trace tests."""

from tests.skiptrace.conftest import batchdata, batchdata_factory  # noqa: F401
