"""The RabbitMQ event bus (aio-pika), on when ``RABBITMQ_URL`` is set.

- Events go to the durable topic exchange ``philos.events`` as persistent messages, routing
  key = the event's kind (``concept.updated``), ``message_id`` = the outbox entry's id, each
  publish awaiting the broker's confirm: the outbox deletes an event only once RabbitMQ holds it.
- Every process that listens (each API replica, for its subscribers) has its own durable
  quorum queue bound to ``#``: a replica that loses its connection, or a broker restart, loses
  nothing — the queue keeps the events until the replica is back. A queue no replica has used
  for ``QUEUE_EXPIRES_MS`` is removed by the broker (a replica that went away for good).
- A handler that raises has the message redelivered; after ``DELIVERY_LIMIT`` deliveries (or at
  once, for a body that is not an event) it goes to the dead-letter exchange
  ``philos.events.dead`` and its quorum queue of the same name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)

from philos.datasources.ports import EventHandler
from philos.domain import StoreUnavailableError
from philos.domain.events import DomainEvent

logger = logging.getLogger("philos.events")

EXCHANGE = "philos.events"
DEAD_EXCHANGE = "philos.events.dead"
DEAD_QUEUE = "philos.events.dead"
DELIVERY_LIMIT = 5
QUEUE_EXPIRES_MS = 10 * 60 * 1000
PUBLISH_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0


class RabbitBus:
    name = "rabbitmq"

    def __init__(
        self,
        url: str,
        *,
        replica: str | None = None,
        on_reconnect: Callable[[], None] | None = None,
        on_dead_letter: Callable[[], None] | None = None,
        on_redelivery: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self.replica = replica or uuid.uuid4().hex[:12]
        self.queue_name = f"philos.events.replica.{self.replica}"
        self.on_reconnect = on_reconnect
        self.on_dead_letter = on_dead_letter
        self.on_redelivery = on_redelivery
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()
        self._handlers: list[EventHandler] = []
        self._listening: asyncio.Task[None] | None = None

    async def _connect(self) -> AbstractExchange:
        if self._exchange is not None:
            return self._exchange
        async with self._lock:
            if self._exchange is not None:
                return self._exchange
            try:
                connection = await aio_pika.connect_robust(
                    self.url,
                    timeout=CONNECT_TIMEOUT_SECONDS,
                    client_properties={"connection_name": f"philos {self.replica}"},
                )
            except Exception as exc:  # unreachable, refused, bad credentials
                raise StoreUnavailableError("rabbitmq", "unreachable") from exc
            connection.reconnect_callbacks.add(self._reconnected)
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
            )
            dead = await channel.declare_exchange(
                DEAD_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
            )
            dead_queue = await channel.declare_queue(
                DEAD_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
            )
            await dead_queue.bind(dead)
            self._connection, self._channel, self._exchange = connection, channel, exchange
            return exchange

    def _reconnected(self, *_args: Any) -> None:
        logger.info("RabbitMQ connection restored")
        if self.on_reconnect is not None:
            self.on_reconnect()

    async def publish(self, event: DomainEvent) -> None:
        exchange = await self._connect()
        message = aio_pika.Message(
            event.to_json(),
            message_id=event.id,
            type=event.kind,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            # Not mandatory: an event no queue is bound for (no replica listening) is done.
            confirmed = await exchange.publish(
                message, routing_key=event.kind, mandatory=False, timeout=PUBLISH_TIMEOUT_SECONDS
            )
        except Exception as exc:  # connection lost, channel closed, no confirm in time
            raise StoreUnavailableError("rabbitmq", "not confirmed") from exc
        if type(confirmed).__name__ != "Ack":  # Nack: the broker could not take it
            raise StoreUnavailableError("rabbitmq", "refused")

    async def listen(self, handler: EventHandler) -> None:
        self._handlers.append(handler)
        if self._listening is None:
            self._listening = asyncio.create_task(self._listen(), name="rabbitmq-listen")

    async def _listen(self) -> None:
        """Declare this replica's queue and consume it; retried until the broker answers
        (later losses of the connection are the robust connection's to repair)."""
        delay = 0.5
        while True:
            try:
                exchange = await self._connect()
                assert self._connection is not None
                channel = await self._connection.channel()
                await channel.set_qos(prefetch_count=100)
                queue = await channel.declare_queue(
                    self.queue_name,
                    durable=True,
                    arguments={
                        "x-queue-type": "quorum",
                        "x-expires": QUEUE_EXPIRES_MS,
                        "x-delivery-limit": DELIVERY_LIMIT,
                        "x-dead-letter-exchange": DEAD_EXCHANGE,
                    },
                )
                await queue.bind(exchange, routing_key="#")
                await queue.consume(self._on_message)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("cannot listen on RabbitMQ yet, retry in %.1fs: %r", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            event = DomainEvent.from_json(message.body, message.message_id)
        except (ValueError, TypeError) as exc:
            logger.error("dead-lettering a message that is not an event: %r", exc)
            if self.on_dead_letter is not None:
                self.on_dead_letter()
            await message.reject(requeue=False)
            return
        if message.redelivered and self.on_redelivery is not None:
            self.on_redelivery()
        try:
            for handler in list(self._handlers):
                await handler(event)
        except Exception as exc:  # try again; the queue's delivery limit bounds it
            count = (message.headers or {}).get("x-delivery-count", 0)
            deliveries = (count if isinstance(count, int) else 0) + 1
            logger.warning("event %s failed (delivery %s): %r", event.id, deliveries, exc)
            if deliveries >= DELIVERY_LIMIT and self.on_dead_letter is not None:
                self.on_dead_letter()
            await message.nack(requeue=True)
            return
        await message.ack()

    async def dead_letters(self) -> int:
        """How many messages wait in the dead-letter queue."""
        await self._connect()
        assert self._connection is not None
        channel = await self._connection.channel()
        try:
            queue = await channel.declare_queue(DEAD_QUEUE, passive=True)
            return int(queue.declaration_result.message_count or 0)
        finally:
            await channel.close()

    async def ping(self) -> None:
        await self._connect()
        if self._connection is None or self._connection.is_closed:
            raise StoreUnavailableError("rabbitmq", "unreachable")

    async def aclose(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listening
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._connection = self._channel = self._exchange = None


JOB_QUEUE = "philos.ai.jobs"


class RabbitJobQueue:
    """The AI job queue: the durable quorum queue ``philos.ai.jobs``, a persistent message per
    job (body = the job's id) published with a confirm. ``philos worker`` consumes it with
    prefetch = its AI concurrency and acknowledges a job only once it finished: a worker that
    dies leaves its jobs unacknowledged, and the broker hands them to another worker."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._lock = asyncio.Lock()

    async def _open(self) -> AbstractChannel:
        async with self._lock:
            if self._channel is None:
                try:
                    self._connection = await aio_pika.connect_robust(
                        self.url,
                        timeout=CONNECT_TIMEOUT_SECONDS,
                        client_properties={"connection_name": "philos ai jobs"},
                    )
                except Exception as exc:
                    raise StoreUnavailableError("rabbitmq", "unreachable") from exc
                channel = await self._connection.channel(publisher_confirms=True)
                await channel.declare_queue(
                    JOB_QUEUE,
                    durable=True,
                    arguments={
                        "x-queue-type": "quorum",
                        "x-delivery-limit": DELIVERY_LIMIT,
                        "x-dead-letter-exchange": DEAD_EXCHANGE,
                    },
                )
                self._channel = channel
            return self._channel

    async def submit(self, job_id: str) -> None:
        channel = await self._open()
        message = aio_pika.Message(
            job_id.encode(),
            message_id=job_id,
            content_type="text/plain",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            await channel.default_exchange.publish(
                message, routing_key=JOB_QUEUE, timeout=PUBLISH_TIMEOUT_SECONDS
            )
        except Exception as exc:
            raise StoreUnavailableError("rabbitmq", "not confirmed") from exc

    async def consume(self, handler: Callable[[str], Awaitable[None]], prefetch: int) -> None:
        """Run ``handler`` for each job, at most ``prefetch`` at once, until cancelled."""
        await self._open()
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.get_queue(JOB_QUEUE)

        async def on_message(message: AbstractIncomingMessage) -> None:
            try:
                await handler(message.body.decode())
            except Exception as exc:  # redelivered; the delivery limit bounds it
                logger.warning("AI job %r failed in the worker: %r", message.body[:40], exc)
                await message.nack(requeue=True)
                return
            await message.ack()

        await queue.consume(on_message)
        await asyncio.Future()  # until cancelled

    async def aclose(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._connection = self._channel = None
