// Validates Kubernetes manifests without a cluster, in three steps:
// 1. against the Kubernetes API's JSON schemas (kubernetes-models, generated from the API's OpenAPI document):
//    types, required fields, enums, formats such as quantities;
// 2. strictly: a field the API does not know is an error, as with `kubectl apply --validate=strict` (a server drops
//    a misspelt `periodSecond` silently); the fields come from the API models of the official JavaScript client;
// 3. what tlsrelay's deployment promises (deploy/kubernetes/README.md): grace periods that agree, probes on /ready and
//    /health, a non-root container with a read-only root file system, memory requests and limits, a volume per pod.
// Usage: node validate.mjs FILE... (multi-document YAML, e.g. the output of kubectl kustomize). Exit 1 on a problem.
import fs from "node:fs";
import YAML from "yaml";
import * as k8s from "@kubernetes/client-node";

const MODELS = {
  v1: "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "batch/v1": "kubernetes-models/batch/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

const problems = [];
const objects = [];

for (const file of process.argv.slice(2)) {
  // YAML 1.1, as Kubernetes reads it (0440 is octal)
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"), { version: "1.1" })) {
    if (doc.errors.length > 0) {
      problems.push(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    const where = `${file}: ${obj.kind}/${obj.metadata?.name}`;
    const module = MODELS[obj.apiVersion];
    if (!module) {
      problems.push(`${where}: no schema for apiVersion ${obj.apiVersion}`);
      continue;
    }
    const Model = (await import(module))[obj.kind];
    if (!Model) {
      problems.push(`${where}: ${obj.kind} is not a kind of ${obj.apiVersion}`);
      continue;
    }
    const before = problems.length;
    try {
      new Model(obj).validate();
    } catch (e) {
      problems.push(`${where}: ${e.message}`);
    }
    // the client knows the built-in kinds only; a custom resource's schema comes from its CRD (step 1)
    if (!obj.apiVersion.includes(".")) {
      strict(obj, `V1${obj.kind}`, obj.kind, problems);
    }
    objects.push(obj);
    console.log(`${problems.length === before ? "valid  " : "INVALID"} ${obj.apiVersion} ${obj.kind}/${obj.metadata?.name} (${file})`);
  }
}

/** Every field of `value` must be one of the fields of the client's model `type`, recursively. */
function strict(value, type, path, out) {
  if (value === null || value === undefined) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => strict(v, m[1], `${path}[${i}]`, out));
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    for (const [k, v] of Object.entries(value)) strict(v, m[1], `${path}.${k}`, out);
    return;
  }
  const model = k8s[type];
  if (typeof model?.getAttributeTypeMap !== "function") return; // string, number, IntOrString, ...
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    if (fields.has(k)) strict(v, fields.get(k), `${path}.${k}`, out);
    else out.push(`${path}.${k}: unknown field (${type} has ${[...fields.keys()].join(", ")})`);
  }
}

// ---- what the tlsrelay deployment promises
const find = (kind) => objects.filter((o) => o.kind === kind);
const expect = (ok, message) => {
  if (!ok) problems.push(`tlsrelay: ${message}`);
};
const seconds = (d) => {
  const units = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  for (const [, n, u] of String(d).matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(n) * units[u];
  return total;
};
const sets = find("StatefulSet");
if (sets.length > 0) {
  for (const set of sets) {
    const pod = set.spec.template.spec;
    const config = find("ConfigMap").find((c) =>
      pod.volumes?.some((v) => v.configMap?.name === c.metadata.name),
    );
    expect(config, `${set.metadata.name}: no ConfigMap with tlsrelay.yaml among its volumes`);
    const relayConfig = config ? YAML.parse(config.data["tlsrelay.yaml"]) : {};
    const grace = seconds(relayConfig.server?.["shutdown-grace"] ?? "30s");
    expect(
      pod.terminationGracePeriodSeconds > grace,
      `terminationGracePeriodSeconds (${pod.terminationGracePeriodSeconds}) must be longer than server.shutdown-grace (${grace}s)`,
    );
    expect(pod.securityContext?.runAsNonRoot === true, "the pod must run as non-root");
    expect(pod.securityContext?.fsGroup !== undefined, "the pod needs an fsGroup for its volume");
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      const sc = c.securityContext ?? {};
      expect(sc.readOnlyRootFilesystem === true, `${c.name}: the root file system must be read-only`);
      expect(sc.allowPrivilegeEscalation === false, `${c.name}: no privilege escalation`);
      expect(c.resources?.requests?.memory && c.resources?.limits?.memory, `${c.name}: memory request and limit`);
    }
    const relay = pod.containers.find((c) => c.name === "tlsrelay");
    expect(relay?.readinessProbe?.httpGet?.path === "/ready", "readiness probe on /ready");
    expect(relay?.livenessProbe?.httpGet?.path === "/health", "liveness probe on /health");
    const data = relay?.volumeMounts?.find((m) => m.mountPath === "/var/lib/tlsrelay");
    expect(
      data && set.spec.volumeClaimTemplates?.some((t) => t.metadata.name === data.name),
      "the state directory /var/lib/tlsrelay must be a volumeClaimTemplate (a volume per pod)",
    );
    // the Redis component: cluster.redis must name a Service of this deployment, on its port
    for (const env of (pod.initContainers ?? []).flatMap((c) => c.env ?? [])) {
      if (env.name !== "TLSRELAY_CLUSTER_REDIS") continue;
      const m = /^rediss?:\/\/(?:[^@]*@)?([^:/.]+)[^:/]*:?(\d*)/.exec(env.value ?? "");
      const port = Number(m?.[2] || 6379);
      expect(
        m && find("Service").some((s) => s.metadata.name === m[1] && s.spec.ports.some((p) => p.port === port)),
        `TLSRELAY_CLUSTER_REDIS (${env.value}) must name a Service of this deployment and its port`,
      );
    }
    const labels = set.spec.template.metadata.labels;
    const selects = (sel) => Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v);
    expect(find("PodDisruptionBudget").some((p) => selects(p.spec.selector.matchLabels)), "a PodDisruptionBudget");
    for (const port of ["smtp", "admin"]) {
      expect(
        find("Service").some(
          (s) => s.spec.clusterIP !== "None" && selects(s.spec.selector) && s.spec.ports.some((p) => p.targetPort === port),
        ),
        `a ClusterIP Service for ${port}`,
      );
    }
  }
}

if (problems.length > 0) {
  console.log(problems.map((p) => `PROBLEM ${p}`).join("\n"));
  process.exit(1);
}
console.log(`${objects.length} objects valid`);
