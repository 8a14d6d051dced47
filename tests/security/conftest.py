"""The security suite reuses the API suite's in-process client fixture (``api``).

Each module here takes one class of attack or careless use, generates its cases where it can
(from the schema, with hypothesis) and checks the answer over HTTP on every SQL backend.
"""

from __future__ import annotations

from tests.api.conftest import api

__all__ = ["api"]
