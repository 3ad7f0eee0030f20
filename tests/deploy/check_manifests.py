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

# The variant with the journal in PostgreSQL, highly available: 3 replicas
# all writing (active/active), a rollout that never drops below 3 Ready, a
# PodDisruptionBudget that keeps 2, no volume, the database URL from a Secret
# and the password only as a Secret's file.
PG = "kubernetes-postgres.yaml"
pg_text = open(f"{ROOT}/deploy/{PG}").read()
pg_docs = [d for d in yaml.safe_load_all(pg_text) if d]
pg_kinds = {}
for d in pg_docs:
    pg_kinds.setdefault(d["kind"], d)  # The first of a kind: the settings ConfigMap.
for kind in ("ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"):
    need(kind in pg_kinds, f"{PG}: no {kind}")
need("PersistentVolumeClaim" not in pg_kinds, f"{PG}: no PersistentVolumeClaim")
pg_dep = pg_kinds["Deployment"]["spec"]
pg_pod_labels = pg_dep["template"]["metadata"]["labels"]
need(pg_dep["selector"]["matchLabels"].items() <= pg_pod_labels.items(),
     f"{PG}: Deployment selector does not match its pods")
need(pg_dep.get("replicas") == 3, f"{PG}: 3 replicas")
pg_strategy = pg_dep.get("strategy", {})
pg_rolling = pg_strategy.get("rollingUpdate", {})
need(pg_strategy.get("type") == "RollingUpdate" and pg_rolling.get("maxUnavailable") == 0
     and pg_rolling.get("maxSurge") == 1,
     f"{PG}: RollingUpdate with maxUnavailable 0, maxSurge 1 (never below 3 Ready)")
pg_pod = pg_dep["template"]["spec"]
spread = [t for t in pg_pod.get("topologySpreadConstraints", [])
          if t.get("topologyKey") == "kubernetes.io/hostname"
          and t.get("labelSelector", {}).get("matchLabels", {}).items() <= pg_pod_labels.items()
          and t.get("labelSelector", {}).get("matchLabels")]
anti = (pg_pod.get("affinity", {}).get("podAntiAffinity", {})
        .get("preferredDuringSchedulingIgnoredDuringExecution", []))
need(spread or any(t.get("podAffinityTerm", {}).get("topologyKey") == "kubernetes.io/hostname"
                   for t in anti), f"{PG}: the replicas spread over nodes")
need(not any("persistentVolumeClaim" in v or "hostPath" in v or "emptyDir" in v
             for v in pg_pod.get("volumes", [])),
     f"{PG}: no volume for the journal or the audit trail (they are tables)")
pg_pdbs = [d["spec"] for d in pg_docs if d["kind"] == "PodDisruptionBudget"]
need(len(pg_pdbs) == 1 and pg_pdbs[0].get("minAvailable") == 2
     and "maxUnavailable" not in pg_pdbs[0],
     f"{PG}: one PodDisruptionBudget with minAvailable 2")
need(all(pdb.get("selector", {}).get("matchLabels")
         and pdb["selector"]["matchLabels"].items() <= pg_pod_labels.items()
         and not pdb["selector"].get("matchExpressions") for pdb in pg_pdbs),
     f"{PG}: the PodDisruptionBudget selects the Deployment's pods")
pg_config = pg_kinds["ConfigMap"]["data"]
need("LOAN_GATEWAY_JOURNAL_URL" not in pg_config, f"{PG}: the journal URL not in the ConfigMap")
need(pg_config.get("LOAN_GATEWAY_CREATE_JOURNAL") == "false",
     f"{PG}: LOAN_GATEWAY_CREATE_JOURNAL \"false\" (\"true\" for the first start only)")
pg_c = pg_pod["containers"][0]
url_env = [e for e in pg_c.get("env", []) if e.get("name") == "LOAN_GATEWAY_JOURNAL_URL"]
url_ref = url_env[0].get("valueFrom", {}).get("secretKeyRef", {}) if url_env else {}
need(len(url_env) == 1 and "value" not in url_env[0] and url_ref.get("name")
     and url_ref.get("key") and not url_ref.get("optional"),
     f"{PG}: LOAN_GATEWAY_JOURNAL_URL from a Secret (secretKeyRef)")
# The documented URL: the `kubectl create secret ... <the URL's Secret>` lines
# of the header comment (shell variables in it expanded).
header = []
for line in pg_text.splitlines():
    if not line.startswith("#"):
        break
    header.append(line.lstrip("#").strip())
shell_vars = {}
url_command = ""
for i, line in enumerate(header):
    m = re.fullmatch(r"([A-Z_]+)=(\S+)", line)
    if m:
        shell_vars[m.group(1)] = m.group(2).strip("'\"")
    if line.startswith("kubectl create secret generic " + url_ref.get("name", "?") + " "):
        command, j = line, i
        while command.endswith("\\") and j + 1 < len(header):
            j += 1
            command = command[:-1] + " " + header[j]
        url_command = command
m = re.search(r"--from-literal=" + re.escape(url_ref.get("key", "?")) + r"=(\S+)", url_command)
documented_url = m.group(1).strip("'\"") if m else ""
for name, value in shell_vars.items():
    documented_url = documented_url.replace(f"${name}", value).replace(f"${{{name}}}", value)
need(re.match(r"postgres(ql)?://", documented_url),
     f"{PG}: the header's `kubectl create secret` gives the journal URL")
need(not re.match(r"postgres(ql)?://[^/@]*:[^/@]*@", documented_url)
     and "password=" not in documented_url, f"{PG}: a journal URL without a password")
need("sslmode=verify-full" in documented_url, f"{PG}: TLS to the database, verified")
pg_mounts = {m["mountPath"]: m for m in pg_c["volumeMounts"]}
pg_secret_volumes = {v["name"]: v["secret"] for v in pg_pod["volumes"] if "secret" in v}
password_file = pg_config.get("LOAN_GATEWAY_JOURNAL_PASSWORD_FILE", "")
password_dir, password_name = password_file.rsplit("/", 1) if "/" in password_file else ("", "")
password_mount = pg_mounts.get(password_dir, {})
password_secret = pg_secret_volumes.get(password_mount.get("name"), {})
need(password_secret and password_mount.get("readOnly") is True
     and (not password_secret.get("items")
          or any(item.get("path") == password_name for item in password_secret["items"])),
     f"{PG}: the database password from a mounted Secret file")
need(password_secret.get("secretName") == url_ref.get("name"),
     f"{PG}: the database URL and its password from the one Secret")
need(not any(re.search(r"PASSWORD$|SECRET|_KEY$", k) for k in pg_config),
     f"{PG}: a secret in the ConfigMap")
need(not any("PASSWORD" in e.get("name", "") and "value" in e for e in pg_c.get("env", [])),
     f"{PG}: the database password as an environment value")
for c in pg_pod["containers"]:
    need(":" in c["image"] and not c["image"].endswith(":latest"),
         f"{PG}: container {c['name']} image must be a pinned version, not :latest")

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
