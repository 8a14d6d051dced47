"""The Claude adapter's small parts, and its wiring from configuration."""

from __future__ import annotations

import email.utils
import time
from pathlib import Path

import httpx
import pytest

from philos.ai.quotas import BoundedLLM
from philos.bootstrap import build_llm
from philos.config import Settings
from philos.datasources.claude import ClaudeLLM, retry_after_seconds


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "30"}, 30),
        ({"retry-after": "1.2"}, 2),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 2),
        ({"retry-after": "0"}, 1),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], seconds: int | None) -> None:
    assert retry_after_seconds(httpx.Headers(headers)) == seconds


def test_retry_after_as_a_date() -> None:
    date = email.utils.formatdate(time.time() + 120, usegmt=True)
    found = retry_after_seconds(httpx.Headers({"retry-after": date}))
    assert found is not None and 115 <= found <= 121


async def test_no_key_means_no_llm(tmp_path: Path) -> None:
    settings = Settings(PHILOS_DATA_DIR=tmp_path, ANTHROPIC_API_KEY=None)
    assert build_llm(settings) is None


async def test_key_and_base_url_from_configuration(tmp_path: Path) -> None:
    settings = Settings(
        PHILOS_DATA_DIR=tmp_path,
        ANTHROPIC_API_KEY="sk-ant-x",
        ANTHROPIC_BASE_URL="http://127.0.0.1:9/",
        PHILOS_AI_MODEL="claude-x",
        PHILOS_AI_MAX_CONCURRENCY=2,
    )
    llm = build_llm(settings)
    try:
        assert isinstance(llm, BoundedLLM)
        assert isinstance(llm.inner, ClaudeLLM)
        assert llm.model == "claude-x"
        assert llm.inner.base_url.startswith("http://127.0.0.1:9")
    finally:
        assert llm is not None
        await llm.aclose()
