"""Anchored patterns that check whole values end in ``\\Z``, never ``$``.

``$`` also matches just before a final newline, so ``"Q42\\n"`` would pass a ``^Q[0-9]+$``
check and be stored as sent. This walks every module of ``philos`` for such patterns.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import philos


def module_patterns() -> list[tuple[str, re.Pattern[str] | re.Pattern[bytes]]]:
    found: list[tuple[str, re.Pattern[str] | re.Pattern[bytes]]] = []
    for info in pkgutil.walk_packages(philos.__path__, "philos."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found.append((f"{info.name}.{name}", value))
    return found


def test_whole_value_patterns_are_anchored_with_backslash_z() -> None:
    patterns = module_patterns()
    assert any(name == "philos.validation.UUID_RE" for name, _ in patterns)
    for name, pattern in patterns:
        raw = pattern.pattern
        text = raw if isinstance(raw, str) else raw.decode()
        if text.startswith("^"):
            for branch in text.split("|"):
                assert not branch.endswith("$"), f"{name} ends a branch in `$`: {text!r}"
