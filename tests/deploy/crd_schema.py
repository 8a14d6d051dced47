"""Turns a CustomResourceDefinition's openAPIV3Schema into a strict JSON Schema for one served
version, the way deploy/gitops/schemas/ was written:

    python -m tests.deploy.crd_schema CRD.yaml VERSION SOURCE > deploy/gitops/schemas/NAME.json

What changes against the CRD, and why:
- an object with ``properties`` and no ``x-kubernetes-preserve-unknown-fields`` is closed
  (``additionalProperties: false``): the API server would prune an unknown field silently, so a
  misspelt key in a manifest must fail here instead;
- ``x-kubernetes-int-or-string`` becomes ``type: [integer, string]``, ``nullable`` adds null;
- ``apiVersion`` and ``kind`` become constants and ``metadata`` an ObjectMeta with its usual
  fields (the CRD leaves it to the API server);
- ``status`` is dropped (the controller writes it; it never belongs in git), and so are
  ``description`` texts, to keep the vendored files small. Everything else is kept as it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": NAME},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": NAME},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": ["string", "null"]},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "managedFields": {"type": "array", "items": {"type": "object"}},
        "selfLink": {"type": "string"},
    },
    "additionalProperties": False,
}


def strict(node: Any) -> Any:
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description" or key.startswith("x-kubernetes-") or key == "nullable":
            continue
        if key in {"properties", "patternProperties"}:
            out[key] = {name: strict(sub) for name, sub in value.items()}
        else:
            out[key] = strict(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("anyOf", None)
        out["type"] = ["integer", "string"]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    open_ = node.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in node and not open_ and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def convert(crd: dict[str, Any], version: str, source: str) -> dict[str, Any]:
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = dict(served["schema"]["openAPIV3Schema"])
    props = {k: v for k, v in schema["properties"].items() if k != "status"}
    schema["properties"] = props
    out = strict(schema)
    out["properties"]["apiVersion"] = {"const": f"{group}/{version}"}
    out["properties"]["kind"] = {"const": kind}
    out["properties"]["metadata"] = OBJECT_META
    out["required"] = sorted({"apiVersion", "kind", "metadata", *schema.get("required", [])})
    out["additionalProperties"] = False
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": f"{kind} {group}/{version}, from {source}; see deploy/gitops/README.md",
        "title": f"{kind} ({group}/{version})",
        **out,
    }


def main(argv: list[str]) -> None:
    path, version, source = argv
    crd = yaml.safe_load(Path(path).read_text())
    json.dump(convert(crd, version, source), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
