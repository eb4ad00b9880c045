#!/usr/bin/env python3
"""Cross-reference checks kubernetes-validate cannot make (it validates each
object alone, and has no schema for ServiceMonitor or Kustomization), for
each shape directory given (default: single-node and cluster):

- kustomization.yaml lists every manifest here, and each exists;
- every object is in the rookery namespace;
- Service and ServiceMonitor selectors match the labels they target, and
  named ports exist on the other side;
- envFrom and volume references name objects defined here;
- the gateway port of the ConfigMap matches the container port;
- probes hit /healthz and /readyz, which the binary serves;
- an HPA targets a workload defined here;
- ROOKERY_WRITERS names every writer pod (one per replica) on its internal
  port.

Exits non-zero with one line per problem. Needs PyYAML.
"""
import pathlib
import sys

import yaml

HERE = pathlib.Path(__file__).parent
problems = []


def load(directory):
    objs = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                objs.append((path.name, doc))
    return objs


def check_kustomization(objs):
    kust = next(d for f, d in objs if d["kind"] == "Kustomization")
    listed = set(kust["resources"])
    files = {f for f, d in objs if d["kind"] != "Kustomization"}
    for missing in sorted(files - listed):
        problems.append(f"kustomization.yaml does not list {missing}")
    for extra in sorted(listed - files):
        problems.append(f"kustomization.yaml lists {extra}, which does not exist")


def by_kind(objs, kind):
    return [d for _, d in objs if d["kind"] == kind]


def pod_templates(objs):
    for d in by_kind(objs, "StatefulSet") + by_kind(objs, "Deployment") + by_kind(objs, "Job"):
        yield d["metadata"]["name"], d["spec"]["template"]


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_services(objs):
    templates = list(pod_templates(objs))
    for svc in by_kind(objs, "Service"):
        sel = svc["spec"]["selector"]
        targets = [t for _, t in templates if matches(sel, t["metadata"]["labels"])]
        if not targets:
            problems.append(f"service {svc['metadata']['name']} selects no pod template")
        for port in svc["spec"]["ports"]:
            named = {p["name"] for t in targets for c in t["spec"]["containers"] for p in c.get("ports", [])}
            if isinstance(port["targetPort"], str) and port["targetPort"] not in named:
                problems.append(f"service {svc['metadata']['name']} targets missing port {port['targetPort']}")
    for sm in by_kind(objs, "ServiceMonitor"):
        sel = sm["spec"]["selector"]["matchLabels"]
        svcs = [s for s in by_kind(objs, "Service") if matches(sel, s["metadata"]["labels"])]
        if not svcs:
            problems.append(f"servicemonitor {sm['metadata']['name']} selects no service")
        for ep in sm["spec"]["endpoints"]:
            if not all(any(p["name"] == ep["port"] for p in s["spec"]["ports"]) for s in svcs):
                problems.append(f"servicemonitor port {ep['port']} missing on a selected service")
            if ep.get("path") != "/metrics":
                problems.append("servicemonitor must scrape /metrics")


def check_references(objs):
    names = {(d["kind"], d["metadata"]["name"]) for _, d in objs if "metadata" in d}
    for owner, t in pod_templates(objs):
        for c in t["spec"]["containers"]:
            for src in c.get("envFrom", []):
                for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if key in src and (kind, src[key]["name"]) not in names:
                        problems.append(f"{owner} reads missing {kind} {src[key]['name']}")
            ops = any(p["name"] == "ops" for p in c.get("ports", []))
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                if probe in c and c[probe]["httpGet"]["path"] != path:
                    problems.append(f"{owner} {probe} must use {path}")
                # serve and edge answer probes on the operations listener.
                if probe in c and ops and c[probe]["httpGet"]["port"] != "ops":
                    problems.append(f"{owner} {probe} must use the ops port")


def check_hpa(objs):
    workloads = {(d["kind"], d["metadata"]["name"]) for _, d in objs if d["kind"] in ("StatefulSet", "Deployment")}
    for hpa in by_kind(objs, "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        if (ref["kind"], ref["name"]) not in workloads:
            problems.append(f"hpa {hpa['metadata']['name']} targets missing {ref['kind']} {ref['name']}")


def check_writers_list(objs):
    cm = next(d for d in by_kind(objs, "ConfigMap") if d["metadata"]["name"] == "rookery")
    listed = cm["data"].get("ROOKERY_WRITERS")
    if listed is None:
        return
    writer = next((d for d in by_kind(objs, "StatefulSet") if d["metadata"]["name"] == "rookery-writer"), None)
    if writer is None:
        problems.append("ROOKERY_WRITERS is set but there is no rookery-writer StatefulSet")
        return
    port = cm["data"]["ROOKERY_INTERNAL_LISTEN"].rsplit(":", 1)[1]
    svc = writer["spec"]["serviceName"]
    want = [f"rookery-writer-{i}.{svc}:{port}" for i in range(writer["spec"]["replicas"])]
    if listed.split(",") != want:
        problems.append(f"ROOKERY_WRITERS should be {','.join(want)}")


def check_namespace_and_port(objs):
    for f, d in objs:
        if d["kind"] in ("Namespace", "Kustomization"):
            continue
        if d["metadata"].get("namespace") != "rookery":
            problems.append(f"{f}: {d['kind']} {d['metadata']['name']} is not in namespace rookery")
    cm = next(d for d in by_kind(objs, "ConfigMap") if d["metadata"]["name"] == "rookery")
    for name, var in (("http", "ROOKERY_LISTEN"), ("ops", "ROOKERY_OPS_LISTEN")):
        port = int(cm["data"][var].rsplit(":", 1)[1])
        for owner, t in pod_templates(objs):
            for c in t["spec"]["containers"]:
                for p in c.get("ports", []):
                    if p["name"] == name and p["containerPort"] != port:
                        problems.append(f"{owner}: container port {p['containerPort']} != {var} port {port}")


dirs = [pathlib.Path(a) for a in sys.argv[1:]] or [HERE / "single-node", HERE / "cluster"]
for directory in dirs:
    before = len(problems)
    objs = load(directory)
    check_kustomization(objs)
    check_services(objs)
    check_references(objs)
    check_namespace_and_port(objs)
    check_hpa(objs)
    check_writers_list(objs)
    for p in problems[before:]:
        print(f"k8s/check.py: {directory.name}: {p}")
    if len(problems) == before:
        print(f"k8s/check.py: {directory.name}: {len(objs)} objects consistent")
if problems:
    sys.exit(1)
