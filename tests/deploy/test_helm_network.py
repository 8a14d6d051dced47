"""The chart's network objects: the Ingress (several hosts, paths and certificates) and the
NetworkPolicy (ingress from the controller, Prometheus and the release's test Pods; egress to
DNS, the stores and Anthropic only)."""

from __future__ import annotations

import ipaddress

import pytest

from tests.deploy.chart import VALUE_SETS, Rendered

STORE_PORTS = {5432, 7687, 27017, 6379}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("value_set", ["production", "extended"])
def test_ingress_class_hosts_paths_and_tls_from_values(
    rendered: dict[str, Rendered], value_set: str
) -> None:
    r = rendered[value_set]
    ingress = r.one("Ingress")["spec"]
    values = {"className": "nginx", **VALUE_SETS[value_set]["ingress"]}
    assert ingress["ingressClassName"] == values["className"]
    if value_set == "extended":
        assert len(values["hosts"]) > 1 and len(values["tls"]) > 1  # several of each
    assert [
        {"host": rule["host"], "paths": [{k: p[k] for k in ("path", "pathType")} for p in paths]}
        for rule in ingress["rules"]
        for paths in [rule["http"]["paths"]]
    ] == values["hosts"]
    assert ingress["tls"] == values["tls"]
    service = r.one("Service")
    for rule in ingress["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_network_policy_allows_only_ingress_prometheus_stores_and_anthropic(
    rendered: dict[str, Rendered],
) -> None:
    r = rendered["production"]
    name = r.one("Deployment")["metadata"]["name"]
    (policy,) = [o["spec"] for o in r.all("NetworkPolicy") if o["metadata"]["name"] == name]
    pod_labels = r.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selects(policy["podSelector"]["matchLabels"], pod_labels)
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]

    (ingress_rule,) = policy["ingress"]
    sources = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for peer in ingress_rule["from"]
        if "namespaceSelector" in peer
    }
    assert sources == {"ingress-nginx", "monitoring"}
    # ...and, from the release's namespace, only its `helm test` Pods.
    local = [peer for peer in ingress_rule["from"] if "namespaceSelector" not in peer]
    test_pods = [o for o in r.all("Pod") if o["metadata"]["annotations"]["helm.sh/hook"] == "test"]
    assert len(local) == 1 and test_pods
    for pod in test_pods:
        assert selects(local[0]["podSelector"]["matchLabels"], pod["metadata"]["labels"])
    assert ingress_rule["ports"] == [{"port": "http", "protocol": "TCP"}]

    egress_ports: set[int] = set()
    for rule in policy["egress"]:
        assert rule.get("ports"), f"an egress rule without ports allows everything: {rule}"
        ports = {p["port"] for p in rule["ports"]}
        egress_ports |= ports
        if ports == {443}:
            cidrs = [peer["ipBlock"]["cidr"] for peer in rule["to"]]
            assert cidrs, "HTTPS egress must be limited to the Anthropic ranges"
            for cidr in cidrs:
                net = ipaddress.ip_network(cidr)
                assert not net.is_private and net.prefixlen >= 16, f"{cidr} is too wide"
        elif ports != {53}:
            assert rule.get("to"), f"production narrows store egress to peers: {rule}"
    assert egress_ports == STORE_PORTS | {53, 443}
