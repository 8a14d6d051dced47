"""Every ```graphql example in the README runs against the packaged corpus and finds something."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.api.client import Api

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def empty(value: Any) -> bool:
    if value is None or value == [] or value == {}:
        return True
    if isinstance(value, dict):
        return all(empty(v) for v in value.values())
    return False


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
async def test_readme_example_answers(corpus_api: Api, example: str) -> None:
    body = await corpus_api.post(example)
    assert "errors" not in body, body
    for field, value in body["data"].items():
        assert not empty(value), f"{field} found nothing:\n{example}"
