"""The Helm chart rendered with each set of values the deploy checks use."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from tests.deploy.tools import CHART, load_yaml, module

KUBE_VERSION = "1.30.0"
TRUSTED = "query Few { concepts(first: 3) { nodes { slug name } } }"
RELEASE = "philos"
NAMESPACE = "philos"

VALUE_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "production": load_yaml(CHART / "ci" / "production-values.yaml"),
    "minimal": load_yaml(CHART / "ci" / "minimal-values.yaml"),
    # Every connection setting given in values: the chart creates the Secret.
    "stores": {
        "replicaCount": 3,
        "secret": {
            "databaseUrl": "postgresql://philos:pw@postgres:5432/philos_concepts",
            "neo4jUri": "neo4j://neo4j:7687",
            "neo4jUser": "neo4j",
            "neo4jPassword": "pw-neo4j",
            "mongodbUri": "mongodb://philos:pw@mongodb:27017/?authSource=admin",
            "redisUrl": "redis://redis:6379/0",
            "rabbitmqUrl": "amqp://philos:pw@rabbitmq:5672/",
            "jwtSecret": "x" * 40,
            "anthropicApiKey": "sk-ant-test",
        },
    },
    # The worker in its own Deployment, scaled by its own HPA.
    "worker": {
        "secret": {
            "databaseUrl": "postgresql://philos:pw@postgres:5432/philos_concepts",
            "rabbitmqUrl": "amqp://philos:pw@rabbitmq:5672/",
            "jwtSecret": "x" * 40,
        },
        "worker": {"enabled": True, "autoscaling": {"enabled": True, "maxReplicas": 3}},
    },
    # Every pod-level setting (annotations, scheduling, extra EnvVars, the spread replaced)
    # and an ingress with two hosts, several paths and two certificates.
    "extended": {
        "replicaCount": 3,
        "ingress": {
            "enabled": True,
            "hosts": [
                {"host": "philos.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]},
                {
                    "host": "api.philos.example.com",
                    "paths": [
                        {"path": "/graphql", "pathType": "Exact"},
                        {"path": "/ready", "pathType": "Exact"},
                    ],
                },
            ],
            "tls": [
                {"secretName": "philos-tls", "hosts": ["philos.example.com"]},
                {"secretName": "philos-api-tls", "hosts": ["api.philos.example.com"]},
            ],
        },
        "podAnnotations": {"example.com/owner": "platform"},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "api", "effect": "NoSchedule"}
        ],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 50,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {
                                "matchLabels": {"app.kubernetes.io/part-of": "philos"}
                            },
                        },
                    }
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 2,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/part-of": "philos"}},
                "matchLabelKeys": ["pod-template-hash"],
            }
        ],
        "extraEnv": [
            {"name": "OTEL_SERVICE_NAME", "value": "philos"},
            {
                "name": "PHILOS_NODE_NAME",
                "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
            },
            {
                "name": "PHILOS_EXTRA_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "philos-extra", "key": "token"}},
            },
        ],
        "secret": {"databaseUrl": "postgresql://philos:pw@postgres:5432/philos_concepts"},
    },
    # Trusted documents only: the manifest in a ConfigMap mounted into the API pods.
    "trusted": {
        "persistedDocuments": {
            "manifest": json.dumps(
                {
                    "sha256:" + hashlib.sha256(TRUSTED.encode()).hexdigest(): TRUSTED,
                }
            ),
            "only": True,
        },
    },
    # The backup CronJob uploading to an S3-compatible store, behind the NetworkPolicy.
    "backup": {
        "secret": {"databaseUrl": "postgresql://philos:pw@postgres:5432/philos_concepts"},
        "networkPolicy": {"enabled": True},
        "backup": {
            "enabled": True,
            "destination": {
                "type": "s3",
                "s3": {
                    "bucket": "philos-backups",
                    "endpoint": "https://minio.example.com:9000",
                    "existingSecret": "philos-backup-s3",
                },
            },
        },
    },
}


@dataclass
class Rendered:
    values: dict[str, Any]
    objects: list[dict[str, Any]]
    notes: str

    def kinds(self) -> list[str]:
        return sorted(o["kind"] for o in self.objects)

    def one(self, kind: str) -> dict[str, Any]:
        found = [o for o in self.objects if o["kind"] == kind]
        assert len(found) == 1, f"expected one {kind}, got {len(found)}"
        return found[0]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]


def render(values: dict[str, Any]) -> Rendered:
    helm = module("helm_python")
    chart = helm.Chart.load(str(CHART))
    chart.validate_schema(values)
    manifests: dict[str, str] = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    objects: list[dict[str, Any]] = []
    notes = ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return Rendered(values=values, objects=objects, notes=notes)
