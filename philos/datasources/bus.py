"""The in-process event bus: the embedded default when ``RABBITMQ_URL`` is unset.

Events published here reach the handlers of this process only, which is everything there is
when one process serves the API. Each handler gets each event once; a handler that raises is
given the event again, a few times, and then the event is logged and dropped (the dead
letter of one process).
"""

from __future__ import annotations

import logging

from philos.datasources.ports import EventHandler
from philos.domain.events import DomainEvent

logger = logging.getLogger("philos.events")
MAX_DELIVERIES = 5


class LocalBus:
    name = "memory"

    def __init__(self) -> None:
        self._handlers: list[EventHandler] = []
        self.dead_letters = 0

    async def publish(self, event: DomainEvent) -> None:
        for handler in list(self._handlers):
            await self._deliver(handler, event)

    async def _deliver(self, handler: EventHandler, event: DomainEvent) -> None:
        for attempt in range(1, MAX_DELIVERIES + 1):
            try:
                await handler(event)
                return
            except Exception as exc:  # the handler's failure is not the publisher's
                if attempt == MAX_DELIVERIES:
                    self.dead_letters += 1
                    logger.error(
                        "event %s (%s) dropped after %s tries: %r",
                        event.id,
                        event.kind,
                        attempt,
                        exc,
                    )

    async def listen(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        self._handlers.clear()
