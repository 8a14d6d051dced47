"""The backup CronJob: PVC and S3 destinations, its NetworkPolicy, bad values, checkov."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from tests.deploy.chart import VALUE_SETS, Rendered, render
from tests.deploy.tools import CHART, DEPLOY, assert_ok, module, run, tool

DB = {"secret": {"databaseUrl": "postgresql://philos:pw@postgres:5432/philos_concepts"}}
PVC = {**DB, "backup": {"enabled": True}}
STAMP = "$(date -u +%Y%m%dT%H%M%SZ)"


def job_pod(r: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = r.one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def api_pod(r: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = r.one("Deployment")["spec"]["template"]["spec"]
    return spec


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in items}


def test_backup_is_off_by_default(rendered: dict[str, Rendered]) -> None:
    for name in ("default", "production", "stores"):
        assert not rendered[name].all("CronJob")
        assert not rendered[name].all("PersistentVolumeClaim")


def test_pvc_backup_runs_the_release_image_and_prunes() -> None:
    r = render(PVC)
    cron = r.one("CronJob")["spec"]
    assert cron["schedule"] == "0 3 * * *"
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["successfulJobsHistoryLimit"] == 3 and cron["failedJobsHistoryLimit"] == 3
    assert cron["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 3600
    spec, api = job_pod(r), api_pod(r)
    assert "initContainers" not in spec
    (c,) = spec["containers"]
    (a,) = api["containers"]
    # the API's image, environment and hardening
    assert c["image"] == a["image"]
    assert c["envFrom"] == a["envFrom"]
    assert c["securityContext"] == a["securityContext"]
    assert spec["securityContext"] == api["securityContext"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["restartPolicy"] == "Never"
    assert c["resources"]["requests"] and c["resources"]["limits"]
    script = c["args"][0]
    assert f'out="/backups/philos-{STAMP}.tar.gz"' in script
    assert 'philos backup --out "$out"' in script
    assert "tail -n +8" in script  # keep: 7
    # /backups is the chart's own claim, kept on uninstall; the rest are emptyDirs
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = by_name(spec["volumes"])
    claim = r.one("PersistentVolumeClaim")
    assert (
        volumes[mounts["/backups"]]["persistentVolumeClaim"]["claimName"]
        == (claim["metadata"]["name"])
    )
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert "storageClassName" not in claim["spec"]
    for path in ("/tmp", "/var/lib/philos"):
        assert "emptyDir" in volumes[mounts[path]]


def test_pvc_backup_uses_an_existing_claim_and_the_values() -> None:
    r = render(
        {
            **DB,
            "backup": {
                "enabled": True,
                "schedule": "@hourly",
                "keep": 3,
                "activeDeadlineSeconds": 600,
                "destination": {"type": "pvc", "pvc": {"existingClaim": "my-backups"}},
            },
        }
    )
    assert not r.all("PersistentVolumeClaim")
    assert r.one("CronJob")["spec"]["schedule"] == "@hourly"
    (volume,) = [v for v in job_pod(r)["volumes"] if v["name"] == "backups"]
    assert volume["persistentVolumeClaim"]["claimName"] == "my-backups"
    assert "tail -n +4" in job_pod(r)["containers"][0]["args"][0]
    claim = render(
        {**DB, "backup": {"enabled": True, "destination": {"pvc": {"storageClassName": "ssd"}}}}
    ).one("PersistentVolumeClaim")
    assert claim["spec"]["storageClassName"] == "ssd"


def test_s3_backup_writes_in_an_init_container_and_uploads(rendered: dict[str, Rendered]) -> None:
    r = rendered["backup"]
    spec = job_pod(r)
    (writer,) = spec["initContainers"]
    (upload,) = spec["containers"]
    assert writer["image"] == api_pod(r)["containers"][0]["image"]
    assert f"/backups/philos-{STAMP}.tar.gz" in writer["args"][0]
    assert "tail" not in writer["args"][0]  # pruning happens in the bucket
    repository, tag = upload["image"].rsplit(":", 1)
    assert repository == "amazon/aws-cli" and tag[0].isdigit()  # pinned, not latest
    env = by_name(upload["env"])
    assert env["BUCKET"]["value"] == "philos-backups"
    assert env["PREFIX"]["value"] == "philos/"
    assert env["AWS_ENDPOINT_URL"]["value"] == "https://minio.example.com:9000"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "philos-backup-s3", "key": key}
    assert "aws s3 cp" in upload["args"][0] and "aws s3 rm" in upload["args"][0]
    assert upload["securityContext"]["readOnlyRootFilesystem"] is True
    assert "envFrom" not in upload  # the store credentials stay with the philos container
    volumes = by_name(spec["volumes"])
    assert "emptyDir" in volumes["backups"]
    assert not r.all("PersistentVolumeClaim")


def test_backup_pods_are_not_api_pods_and_reach_the_stores(
    rendered: dict[str, Rendered],
) -> None:
    r = rendered["backup"]
    labels = r.one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    service_selector = r.one("Service")["spec"]["selector"]
    assert not all(labels.get(k) == v for k, v in service_selector.items())
    policies = {p["metadata"]["name"]: p for p in r.all("NetworkPolicy")}
    api, backup = policies["philos"], policies["philos-backup"]
    assert not all(labels.get(k) == v for k, v in api["spec"]["podSelector"]["matchLabels"].items())
    assert all(labels.get(k) == v for k, v in backup["spec"]["podSelector"]["matchLabels"].items())
    assert backup["spec"]["ingress"] == []
    # every egress rule the API pods have (DNS and the stores), plus the S3 endpoint's port
    api_rules = [rule for rule in api["spec"]["egress"] if "ipBlock" not in str(rule)]
    assert backup["spec"]["egress"][: len(api_rules)] == api_rules
    (s3_rule,) = backup["spec"]["egress"][len(api_rules) :]
    assert s3_rule["ports"] == [{"port": 9000, "protocol": "TCP"}]


@pytest.mark.parametrize(
    ("endpoint", "port"), [("", 443), ("http://minio:80", 80), ("http://minio", 80)]
)
def test_s3_egress_port_follows_the_endpoint(endpoint: str, port: int) -> None:
    values = yaml.safe_load(yaml.safe_dump(VALUE_SETS["backup"]))
    values["backup"]["destination"]["s3"]["endpoint"] = endpoint
    (policy,) = [
        p for p in render(values).all("NetworkPolicy") if p["metadata"]["name"].endswith("backup")
    ]
    assert policy["spec"]["egress"][-1]["ports"] == [{"port": port, "protocol": "TCP"}]


BAD_VALUES = [
    {"backup": {"enabled": "yes"}},
    {"backup": {"unknown": 1}},
    {"backup": {"keep": 0}},
    {"backup": {"keep": "7"}},
    {"backup": {"schedule": "every day"}},
    {"backup": {"concurrencyPolicy": "Sometimes"}},
    {"backup": {"activeDeadlineSeconds": -1}},
    {"backup": {"resources": {"request": {}}}},
    {"backup": {"destination": {"type": "nfs"}}},
    {"backup": {"destination": {"pvc": {"size": "lots"}}}},
    {"backup": {"destination": {"pvc": {"claim": "x"}}}},
    {"backup": {"destination": {"s3": {"bucket": 3}}}},
    {"backup": {"destination": {"s3": {"endpoint": "minio:9000"}}}},
    {"backup": {"destination": {"s3": {"secretName": "x"}}}},
    {"backup": {"destination": {"s3": {"image": {"tag": ""}}}}},
]


@pytest.mark.parametrize("values", BAD_VALUES, ids=[str(v) for v in BAD_VALUES])
def test_schema_rejects_bad_backup_values(values: dict[str, Any]) -> None:
    helm = module("helm_python")
    with pytest.raises(helm.HelmError, match="at '/backup"):
        helm.Chart.load(str(CHART)).validate_schema(values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"backup": {"enabled": True}}, "external database"),
        ({**DB, "backup": {"enabled": True, "destination": {"type": "s3"}}}, "s3.bucket"),
        (
            {
                **DB,
                "backup": {"enabled": True, "destination": {"type": "s3", "s3": {"bucket": "b"}}},
            },
            "existingSecret",
        ),
    ],
)
def test_render_fails_for_a_backup_that_could_not_work(
    values: dict[str, Any], message: str
) -> None:
    helm = module("helm_python")
    with pytest.raises(helm.HelmError, match=message):
        render(values)


def test_checkov_passes_on_the_backup_releases(
    rendered: dict[str, Rendered], tmp_path: Path
) -> None:
    manifest = tmp_path / "backup.yaml"
    pvc = render({**PVC, "networkPolicy": {"enabled": True}}).objects
    backup_objects = [
        o
        for o in rendered["backup"].objects + pvc
        if o["kind"] in {"CronJob", "PersistentVolumeClaim", "NetworkPolicy"}
    ]
    manifest.write_text(yaml.safe_dump_all(backup_objects))
    result = run(
        [
            tool("checkov"),
            "--config-file",
            str(DEPLOY / "checkov.yaml"),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
            "-f",
            str(manifest),
        ],
        timeout=180,
    )
    assert_ok(result, "checkov on the backup CronJobs")
    assert "Passed checks:" in result.stdout


def test_readme_names_the_pinned_upload_image() -> None:
    image = yaml.safe_load((CHART / "values.yaml").read_text())["backup"]["destination"]["s3"][
        "image"
    ]
    readme = (DEPLOY / "README.md").read_text()
    assert f"`{image['repository']}`, tag `{image['tag']}`" in readme
