"""deploy/Dockerfile: hadolint and checkov clean, multi-stage, non-root, with a health check."""

from __future__ import annotations

import json
import re
import shlex

import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from tests.deploy.tools import DEPLOY, ROOT, assert_ok, run, tool

DOCKERFILE = DEPLOY / "Dockerfile"
IGNORE = DEPLOY / "Dockerfile.dockerignore"
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|DATABASE_URL|_URI|_URL", re.I)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_hadolint_clean_at_warning() -> None:
    result = run([tool("hadolint"), "--failure-threshold", "warning", str(DOCKERFILE)])
    assert_ok(result, "hadolint")


def test_checkov_passes_on_the_dockerfile() -> None:
    result = run(
        [
            tool("checkov"),
            *("--config-file", str(DEPLOY / "checkov.yaml"), "--framework", "dockerfile"),
            *("--skip-download", "--quiet", "--compact", "-f", str(DOCKERFILE)),
        ],
        timeout=180,
    )
    assert_ok(result, "checkov on deploy/Dockerfile")
    assert "Passed checks:" in result.stdout


def test_multi_stage_on_a_slim_python_base() -> None:
    froms = [args for word, args in instructions() if word == "FROM"]
    assert len(froms) >= 2, "expected a build stage and a runtime stage"
    for args in froms:
        image = args.split()[0]
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", image), image
    assert any(word == "COPY" and "--from=build" in args for word, args in final_stage()), (
        "the runtime stage copies the built venv"
    )


def test_runs_as_a_numeric_non_root_user() -> None:
    users = [args for word, args in final_stage() if word == "USER"]
    assert users, "no USER in the runtime stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "USER must be a numeric non-root uid (runAsNonRoot)"
    chart_values = yaml.safe_load((DEPLOY / "helm" / "philos" / "values.yaml").read_text())
    assert chart_values["podSecurityContext"]["runAsUser"] == int(uid)


def test_healthcheck_probes_health() -> None:
    checks = [args for word, args in final_stage() if word == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/health" in checks[0]


def test_serves_with_production_settings() -> None:
    steps = final_stage()
    entrypoint = json.loads(next(args for word, args in steps if word == "ENTRYPOINT"))
    cmd = json.loads(next(args for word, args in steps if word == "CMD"))
    argv = entrypoint + cmd
    assert argv[:2] == ["philos", "serve"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert "--graceful-timeout" in argv
    env = " ".join(args for word, args in steps if word == "ENV")
    assert "PHILOS_ENV=production" in env


def test_no_secrets_baked_in() -> None:
    for word, args in instructions():
        if word in {"ENV", "ARG"}:
            names = [token.split("=")[0] for token in shlex.split(args)]
            leaked = [name for name in names if SECRET_WORDS.search(name)]
            assert not leaked, f"{word} {leaked}: pass secrets at run time, never in the image"


def test_build_context_is_limited_to_what_the_image_needs() -> None:
    rules = [
        line.strip()
        for line in IGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "ignore everything, then re-include"
    included = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = set()
    for word, args in instructions():
        if word == "COPY" and "--from" not in args:
            copied |= set(args.split()[:-1])
    assert copied <= included, f"COPY sources not in the context: {copied - included}"
    for path in included:
        assert (ROOT / path).exists(), path
