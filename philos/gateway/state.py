"""What the application holds between requests."""

from __future__ import annotations

from dataclasses import dataclass

from philos.datasources.stores import Stores


@dataclass
class AppState:
    """The open stores: None until start-up has opened them."""

    stores: Stores | None = None
