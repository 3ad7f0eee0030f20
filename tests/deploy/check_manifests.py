#!/usr/bin/python3
"""Checks deploy/: every manifest parses, has the fields the product relies on
(no schema checker for Kubernetes is packaged for Debian 12), and the compose
file wires the gateway to the fake. Exits non-zero with the problems listed."""
import json
import re
import sys

import yaml

ROOT = sys.argv[1]
problems = []


def need(cond, what):
    if not cond:
        problems.append(what)


def seconds(text):
    m = re.fullmatch(r"(\d+)s", text)
    return int(m.group(1)) if m else None


docs = [d for d in yaml.safe_load_all(open(f"{ROOT}/deploy/kubernetes.yaml")) if d]
by_kind = {}
for d in docs:
    for field in ("apiVersion", "kind", "metadata"):
        need(field in d, f"a document lacks {field}")
    need(bool(d.get("metadata", {}).get("name")), f"{d.get('kind')} has no name")
    by_kind.setdefault(d["kind"], d)  # The first of a kind: the settings ConfigMap.
for kind in ("ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy",
             "PersistentVolumeClaim"):
    need(kind in by_kind, f"no {kind}")

dep = by_kind["Deployment"]["spec"]
pod = dep["template"]["spec"]
need(dep["selector"]["matchLabels"].items() <= dep["template"]["metadata"]["labels"].items(),
     "Deployment selector does not match its pods")
need(dep.get("replicas") == 1 and dep.get("strategy", {}).get("type") == "Recreate",
     "one replica with Recreate (the journal is local)")
c = pod["containers"][0]
config = by_kind["ConfigMap"]["data"]
# Probes have no client certificate: they ask the plaintext health-only port.
health_port = int(config["LOAN_GATEWAY_HEALTH_LISTEN"].rsplit(":", 1)[1])
need(c["readinessProbe"].get("grpc", {}).get("port") == health_port,
     "readiness on the health port's gRPC health")
need(c["livenessProbe"].get("grpc", {}).get("port") == health_port,
     "liveness on the health port's gRPC health")
need("limits" in c.get("resources", {}), "resource limits")
need(pod["securityContext"].get("runAsNonRoot") is True, "runAsNonRoot")
drain = seconds(config["LOAN_GATEWAY_DRAIN_TIMEOUT"])
need(drain is not None and pod["terminationGracePeriodSeconds"] > drain,
     "terminationGracePeriodSeconds must exceed the drain timeout")
secret_volumes = [v for v in pod["volumes"] if "secret" in v]
need(secret_volumes, "the key as a Secret volume")
mounts = {m["name"]: m for m in c["volumeMounts"]}
expected_mounts = {"loan-gateway-credit-account": "/run/secrets/loan-gateway",
                   "loan-gateway-tls": "/run/secrets/loan-gateway-tls"}
for v in secret_volumes:
    need(mounts.get(v["name"], {}).get("mountPath") == expected_mounts.get(v["secret"]["secretName"]),
         "each Secret is mounted where the image's LOAN_GATEWAY_*_FILE point")
    need(mounts.get(v["name"], {}).get("readOnly") is True, "the Secret mount is read-only")
need({v["secret"]["secretName"] for v in secret_volumes} == set(expected_mounts),
     "the credit account's key and the gRPC port's TLS as Secrets")
need("LOAN_GATEWAY_INSECURE_PLAINTEXT" not in config, "plaintext gRPC in production")
policies = [d for d in docs if d["kind"] == "ConfigMap" and "policy.txtpb" in d.get("data", {})]
need(policies and any(m.get("mountPath") == "/etc/loan-gateway/policy" for m in c["volumeMounts"]),
     "the access policy as a ConfigMap mounted where the image's LOAN_GATEWAY_POLICY_FILE points")
need(not any(re.search(r"SECRET|_KEY$", k) for k in config), "a key in the ConfigMap")
np = by_kind["NetworkPolicy"]["spec"]
need("Ingress" in np["policyTypes"], "NetworkPolicy restricts ingress")
grpc_rules = [r for r in np["ingress"] if any(p["port"] == 50051 for p in r["ports"])]
need(grpc_rules and all(f.get("podSelector", {}).get("matchLabels") for r in grpc_rules
                        for f in r["from"]), "only labelled callers reach gRPC")


def names_namespaces(selector):
    """A namespaceSelector that admits only namespaces it names. An empty one
    ({}, or empty matchLabels/matchExpressions) selects every namespace."""
    if not isinstance(selector, dict):
        return False
    labels = selector.get("matchLabels") or {}
    exprs = selector.get("matchExpressions") or []
    by_name = "kubernetes.io/metadata.name"
    named = bool(labels.get(by_name)) or any(
        e.get("key") == by_name and e.get("operator") == "In" and e.get("values")
        for e in exprs)
    # Any other expression (NotIn, Exists...) can widen what is admitted.
    return named and all(e.get("operator") == "In" for e in exprs)


for kind_doc in (d for d in docs if d["kind"] == "NetworkPolicy"):
    name = kind_doc["metadata"]["name"]
    for i, rule in enumerate(kind_doc["spec"].get("ingress") or []):
        need(rule.get("from"), f"NetworkPolicy {name} ingress rule {i} admits every source")
        for peer in rule.get("from") or []:
            if "namespaceSelector" in peer:
                need(names_namespaces(peer["namespaceSelector"]),
                     f"NetworkPolicy {name} ingress rule {i}: a namespaceSelector must name "
                     f"its namespaces (kubernetes.io/metadata.name), never {{}}: "
                     f"{peer['namespaceSelector']}")
need(by_kind["PodDisruptionBudget"]["spec"]["selector"] == dep["selector"], "PDB selects the pods")
pdb = by_kind["PodDisruptionBudget"]["spec"]
need(pdb.get("minAvailable", 0) < dep.get("replicas", 1) or "maxUnavailable" in pdb,
     "the PodDisruptionBudget must allow an eviction of the single replica (node drains)")
need(by_kind["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteOncePod"],
     "the journal volume is ReadWriteOncePod (one writer, enforced)")
for c in pod["containers"]:
    need(":" in c["image"] and not c["image"].endswith(":latest"),
         f"container {c['name']} image must be a pinned version, not :latest")

# The variant with the journal in PostgreSQL: no volume, one replica
# (a standby is never Ready), the database password only as a Secret's file.
pg_docs = [d for d in yaml.safe_load_all(open(f"{ROOT}/deploy/kubernetes-postgres.yaml")) if d]
pg_kinds = {}
for d in pg_docs:
    pg_kinds.setdefault(d["kind"], d)
need("PersistentVolumeClaim" not in pg_kinds, "kubernetes-postgres.yaml: no PersistentVolumeClaim")
pg_dep = pg_kinds["Deployment"]["spec"]
need(pg_dep.get("replicas") == 1 and pg_dep.get("strategy", {}).get("type") == "Recreate",
     "kubernetes-postgres.yaml: one replica with Recreate (a standby is never Ready)")
pg_pod = pg_dep["template"]["spec"]
need(not any("persistentVolumeClaim" in v for v in pg_pod.get("volumes", [])),
     "kubernetes-postgres.yaml: no volume claim")
pg_config = pg_kinds["ConfigMap"]["data"]
pg_url = pg_config.get("LOAN_GATEWAY_JOURNAL_URL", "")
need(pg_url.startswith("postgres://") and not re.match(r"postgres://[^/@]*:[^/@]*@", pg_url)
     and "password=" not in pg_url, "kubernetes-postgres.yaml: a journal URL without a password")
need("sslmode=verify-full" in pg_url, "kubernetes-postgres.yaml: TLS to the database, verified")
pg_mounts = {m["mountPath"]: m["name"] for m in pg_pod["containers"][0]["volumeMounts"]}
pg_secrets = {v["name"] for v in pg_pod["volumes"] if "secret" in v}
password_dir = pg_config.get("LOAN_GATEWAY_JOURNAL_PASSWORD_FILE", "").rsplit("/", 1)[0]
need(pg_mounts.get(password_dir) in pg_secrets,
     "kubernetes-postgres.yaml: the database password from a mounted Secret")

compose = yaml.safe_load(open(f"{ROOT}/deploy/compose.yaml"))
gw = compose["services"]["loan-gateway"]
need("fake-binance" in compose["services"], "compose runs the fake")
need(gw["environment"]["LOAN_GATEWAY_UPSTREAM_BASE_URLS"].startswith("https://fake-binance"),
     "compose points the gateway at the fake")
need(not any("SECRET" in k or k.endswith("_KEY") for k in gw["environment"]),
     "secrets as environment values in compose")

# Alert rules and the dashboard name only metrics the gateway exports (the
# README's metrics table is the list; a renamed metric would silence an alert).
readme = open(f"{ROOT}/README.md").read()
table = readme[readme.index("## Metrics"):]
table = table[:table.index("\n## ", 4)]
documented = set(re.findall(r"loan_gateway_[a-z0-9_]+", table))
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metric_names(text):
    for name in re.findall(r"loan_gateway_[a-z0-9_]+", text):
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and name[: -len(suffix)] in documented:
                name = name[: -len(suffix)]
        yield name


rules = yaml.safe_load(open(f"{ROOT}/deploy/prometheus/alerts.yaml"))
alerts = [r for g in rules["groups"] for r in g["rules"]]
need(len(alerts) >= 8, "alert rules cover the signals that matter")
for rule in alerts:
    for field in ("alert", "expr"):
        need(field in rule, f"alert rule lacks {field}: {rule}")
    need(rule.get("labels", {}).get("severity") in ("page", "warn"),
         f"alert {rule.get('alert')} has no severity page|warn")
    need(rule.get("annotations", {}).get("summary"), f"alert {rule.get('alert')} has no summary")
    for name in metric_names(rule.get("expr", "")):
        need(name in documented, f"alert {rule.get('alert')} uses {name}, not a gateway metric")
for needed in ("loan_gateway_unknown_outcomes_pending", "loan_gateway_ban_breaker_open",
               "loan_gateway_clock_uncertainty_seconds", "loan_gateway_journal_intact",
               "loan_gateway_uid_weight_remaining"):
    need(any(needed in r.get("expr", "") for r in alerts), f"no alert on {needed}")
dashboard = json.load(open(f"{ROOT}/deploy/grafana/loan-gateway-dashboard.json"))
for panel in dashboard["panels"]:
    for target in panel.get("targets", []):
        for name in metric_names(target["expr"]):
            need(name in documented,
                 f"dashboard panel '{panel['title']}' uses {name}, not a gateway metric")

if problems:
    print("deploy/ problems:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"deploy/: {len(docs)} + {len(pg_docs)} Kubernetes manifests and the compose file check out")
