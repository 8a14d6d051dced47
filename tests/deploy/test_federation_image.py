"""deploy/federation/Dockerfile, the api-gateway image: hadolint and checkov clean, non-root,
with a health check, from the committed lock file, with every file the gateway reads."""

from __future__ import annotations

import re

from tests.deploy.tools import DEPLOY, assert_ok, run, tool

FEDERATION = DEPLOY / "federation"
DOCKERFILE = FEDERATION / "Dockerfile"


def test_hadolint_passes() -> None:
    result = run([tool("hadolint"), "--failure-threshold", "warning", str(DOCKERFILE)])
    assert_ok(result, "hadolint on deploy/federation/Dockerfile")


def test_checkov_passes() -> None:
    result = run(
        [
            tool("checkov"),
            "--quiet",
            "--compact",
            "--skip-download",
            "--framework",
            "dockerfile",
            "-f",
            str(DOCKERFILE),
        ],
        timeout=180,
    )
    assert_ok(result, "checkov on deploy/federation/Dockerfile")


def test_the_image_is_built_from_the_lock_file_and_runs_unprivileged() -> None:
    text = DOCKERFILE.read_text()
    assert "npm ci --omit=dev" in text
    assert re.search(r"^USER node$", text, re.M)
    assert "HEALTHCHECK" in text
    copied = " ".join(re.findall(r"^COPY (.+) \./$", text, re.M)).split()
    # Everything the configuration imports or reads at start-up is in the image.
    for needed in ("gateway.config.mjs", "cost.mjs", "cost-hints.json", "supergraph.graphql"):
        assert needed in copied, needed
        assert (FEDERATION / needed).is_file()
    config = (FEDERATION / "gateway.config.mjs").read_text()
    for local in re.findall(r'from "\./([^"]+)"', config):
        assert local in copied, local
    assert "node_modules" in (FEDERATION / ".dockerignore").read_text().split()
