"""Trusted documents in the chart: the manifest given in values reaches the API pods as a
mounted file that PHILOS_PERSISTED_MANIFEST names, the pods restart when it changes, and a
server started from what the chart rendered runs the manifest's documents and nothing else."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from philos.bootstrap import create_app
from philos.datasources.stores import Stores
from philos.seed.loader import seed
from tests.api.test_persisted import code_of, digest, manifest
from tests.corpus import SMALL_CORPUS
from tests.deploy.chart import Rendered, render
from tests.deploy.tools import module
from tests.fuzz.strategies import SCHEMA
from tests.security.documents import queries_reaching
from tests.settings import settings_for

FULLNAME = "philos"


def trusted_values(text: str, only: bool = True) -> dict[str, Any]:
    return {"persistedDocuments": {"manifest": text, "only": only}}


def api_pod(rendered: Rendered) -> dict[str, Any]:
    deployments = [d for d in rendered.all("Deployment") if d["metadata"]["name"] == FULLNAME]
    assert len(deployments) == 1
    pod: dict[str, Any] = deployments[0]["spec"]["template"]
    return pod


def config_map(rendered: Rendered, name: str) -> dict[str, str]:
    found = [c for c in rendered.all("ConfigMap") if c["metadata"]["name"] == name]
    assert len(found) == 1, name
    data: dict[str, str] = found[0]["data"]
    return data


def mounted_manifest(rendered: Rendered) -> tuple[str, str]:
    """(the path the server is told, the text a pod would read there)."""
    env = config_map(rendered, FULLNAME)
    path = PurePosixPath(env["PHILOS_PERSISTED_MANIFEST"])
    pod = api_pod(rendered)["spec"]
    (container,) = pod["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "persisted-documents"]
    assert mount["readOnly"] is True
    assert path.parent == PurePosixPath(mount["mountPath"])
    (volume,) = [v for v in pod["volumes"] if v["name"] == "persisted-documents"]
    data = config_map(rendered, volume["configMap"]["name"])
    return str(path), data[path.name]


def test_without_a_manifest_nothing_is_mounted_and_anything_runs() -> None:
    rendered = render({})
    env = config_map(rendered, FULLNAME)
    assert "PHILOS_PERSISTED_MANIFEST" not in env
    assert env["PHILOS_PERSISTED_ONLY"] == "false"
    pod = api_pod(rendered)
    assert all(v["name"] != "persisted-documents" for v in pod["spec"]["volumes"])
    assert "checksum/persisted-documents" not in pod["metadata"]["annotations"]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(
        st.sampled_from(["concepts", "concept", "tags"]).flatmap(
            lambda root: queries_reaching(SCHEMA, root)
        ),
        min_size=1,
        max_size=4,
    ),
    apollo=st.booleans(),
    only=st.booleans(),
)
def test_the_manifest_given_is_the_file_the_server_reads(
    texts: list[str], apollo: bool, only: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = manifest(tmp_path_factory.mktemp("manifest") / "m.json", texts, apollo)
    text = path.read_text(encoding="utf-8")
    rendered = render(trusted_values(text, only))
    _, served = mounted_manifest(rendered)
    assert served == text
    assert config_map(rendered, FULLNAME)["PHILOS_PERSISTED_ONLY"] == str(only).lower()
    # Another manifest rolls the pods (the annotation is the rendered ConfigMap's hash).
    annotation = api_pod(rendered)["metadata"]["annotations"]["checksum/persisted-documents"]
    other = render(trusted_values(json.dumps({"sha256:" + digest("{ x }"): "{ x }"}), only))
    assert api_pod(other)["metadata"]["annotations"]["checksum/persisted-documents"] != annotation


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")
async def test_a_server_started_from_the_rendered_chart_runs_only_the_manifest(
    stores: Stores, sql_url: str, tmp_path: Path
) -> None:
    await seed(stores, SMALL_CORPUS)
    known = "query Few { concepts(first: 3) { nodes { slug name } } }"
    rendered = render(trusted_values(json.dumps({f"sha256:{digest(known)}": known})))
    pod_path, text = mounted_manifest(rendered)
    env = config_map(rendered, FULLNAME)
    # The pod's file, at a path of this machine; the other settings as the chart rendered them.
    local = tmp_path / PurePosixPath(pod_path).name
    local.write_text(text, encoding="utf-8")
    app = create_app(
        settings_for(
            sql_url,
            tmp_path,
            PHILOS_PERSISTED_MANIFEST=local,
            PHILOS_PERSISTED_ONLY=env["PHILOS_PERSISTED_ONLY"] == "true",
        ),
        stores,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://philos.test") as client:
        answer = await client.post("/graphql", json={"documentId": f"sha256:{digest(known)}"})
        assert answer.status_code == 200
        assert len(answer.json()["data"]["concepts"]["nodes"]) == 3
        refused = await client.post("/graphql", json={"query": known.replace("3", "2")})
        assert refused.status_code == 400
        assert code_of(refused) == "PERSISTED_QUERY_NOT_IN_LIST"


def test_trusted_only_without_a_manifest_does_not_render() -> None:
    helm = module("helm_python")
    with pytest.raises(helm.HelmError, match=r"persistedDocuments\.only needs"):
        render(trusted_values("", only=True))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(
        st.text(min_size=1, max_size=30).filter(lambda t: not _is_json_object(t)),
        st.lists(st.text(max_size=5), max_size=3).map(json.dumps),
        st.integers().map(str),
        st.just("{}"),
    )
)
def test_a_manifest_that_is_not_a_json_object_does_not_render(text: str) -> None:
    helm = module("helm_python")
    with pytest.raises(helm.HelmError, match="not a JSON object"):
        render(trusted_values(text, only=False))


def _is_json_object(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and bool(value)
