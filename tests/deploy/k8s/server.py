"""A real Kubernetes API server (with its etcd) on loopback, for `make k8s-check`: the chart's
rendered objects are sent to it as server-side dry runs with strict field validation, which
catch what schema checks cannot (a selector that matches no pod labels, requests above
limits, a misspelt field anywhere). The binaries come from ``build.sh``."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.services.servers.base import free_port

TOKEN = "philos-k8s-check"  # nosec B105 - a throwaway server on loopback


def binaries() -> Path | None:
    """Where ``build.sh`` put etcd and kube-apiserver, if it has (``PHILOS_K8S_BIN``)."""
    found = os.environ.get("PHILOS_K8S_BIN")
    if not found:
        return None
    path = Path(found)
    if not ((path / "etcd").exists() and (path / "kube-apiserver").exists()):
        return None
    return path


@dataclass
class ApiServer:
    base: str
    client: httpx.Client
    # (apiVersion, kind) -> (resource path under /api or /apis, namespaced)
    resources: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)

    def discover(self) -> None:
        groups = [("v1", "/api/v1")]
        for group in self.client.get("/apis").json()["groups"]:
            for version in group["versions"]:
                groups.append((version["groupVersion"], f"/apis/{version['groupVersion']}"))
        for api_version, path in groups:
            listing = self.client.get(path).json()
            for resource in listing.get("resources", []):
                if "/" in resource["name"] or "create" not in resource.get("verbs", []):
                    continue
                self.resources[(api_version, resource["kind"])] = (
                    f"{path}/{resource['name']}",
                    resource["namespaced"],
                )

    def dry_run(self, obj: dict[str, Any], namespace: str) -> httpx.Response:
        """Create ``obj`` as a server-side dry run with strict field validation (what
        ``kubectl apply --dry-run=server --validate=strict`` asks for)."""
        path, namespaced = self.resources[(obj["apiVersion"], obj["kind"])]
        if namespaced:
            group, resource = path.rsplit("/", 1)
            path = f"{group}/namespaces/{namespace}/{resource}"
        return self.client.post(
            path, params={"dryRun": "All", "fieldValidation": "Strict"}, json=obj
        )

    def served(self, obj: dict[str, Any]) -> bool:
        return (obj["apiVersion"], obj["kind"]) in self.resources


def _wait(check: Any, what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{log.read_text()[-3000:]}")
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(
        f"{what} did not become ready in {timeout:.0f} s:\n{log.read_text()[-3000:]}"
    )


@contextmanager
def api_server(bin_dir: Path, work: Path) -> Iterator[ApiServer]:
    """etcd and kube-apiserver on free loopback ports, stopped (by PID) afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        client_port, peer_port = free_port(), free_port()
        etcd_log = work / "etcd.log"
        with etcd_log.open("wb") as log:
            etcd = subprocess.Popen(
                [
                    str(bin_dir / "etcd"),
                    "--name=k8s-check",
                    f"--data-dir={work / 'etcd'}",
                    f"--listen-client-urls=http://127.0.0.1:{client_port}",
                    f"--advertise-client-urls=http://127.0.0.1:{client_port}",
                    f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-cluster=k8s-check=http://127.0.0.1:{peer_port}",
                    "--log-level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(etcd)
        _wait(
            lambda: (
                httpx.get(f"http://127.0.0.1:{client_port}/health", timeout=1).status_code == 200
            ),
            "etcd",
            etcd,
            etcd_log,
            60,
        )
        key, pub = work / "sa.key", work / "sa.pub"
        subprocess.run(
            ["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True
        )
        subprocess.run(
            ["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(pub)],
            check=True,
            capture_output=True,
        )
        tokens = work / "tokens.csv"
        tokens.write_text(f'{TOKEN},k8s-check,1,"system:masters"\n')
        port = free_port()
        api_log = work / "kube-apiserver.log"
        with api_log.open("wb") as log:
            api = subprocess.Popen(
                [
                    str(bin_dir / "kube-apiserver"),
                    f"--etcd-servers=http://127.0.0.1:{client_port}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    f"--secure-port={port}",
                    f"--cert-dir={work / 'certs'}",
                    f"--token-auth-file={tokens}",
                    "--authorization-mode=AlwaysAllow",
                    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                    f"--service-account-key-file={pub}",
                    f"--service-account-signing-key-file={key}",
                    "--service-cluster-ip-range=10.96.0.0/16",
                    "--endpoint-reconciler-type=none",  # no controller manager on loopback
                    # No token controller either: pods may name service accounts not created.
                    "--disable-admission-plugins=ServiceAccount",
                    "--enable-priority-and-fairness=false",
                    "--v=0",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(api)
        base = f"https://127.0.0.1:{port}"
        client = httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {TOKEN}"},
            verify=False,  # nosec B501 - its own self-signed certificate, loopback
            timeout=30,
        )
        _wait(lambda: client.get("/readyz").status_code == 200, "kube-apiserver", api, api_log, 180)
        server = ApiServer(base=base, client=client)
        server.discover()
        yield server
        client.close()
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
