// Validates Kubernetes objects with the kubernetes-models packages.
//
//   node validate-models.cjs < objects.json
//
// stdin: a JSON array of objects. Core kinds are checked with kubernetes-models, the
// prometheus-operator kinds (ServiceMonitor, PrometheusRule) with
// @kubernetes-models/prometheus-operator. stdout: a JSON array, one entry per object:
// {"kind", "name", "ok", "error"}. Exit code 0 even when objects are invalid; the caller reads
// the entries. An object whose kind has no model is reported as an error, never passed.
"use strict";

const fs = require("node:fs");

const OPERATOR_GROUP = "monitoring.coreos.com";

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === OPERATOR_GROUP) {
    return require(`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`)[kind];
  }
  const path = group === "" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
  return require(path)[kind];
}

const objects = JSON.parse(fs.readFileSync(0, "utf8"));
const results = objects.map((obj) => {
  const entry = { kind: obj.kind, name: obj.metadata && obj.metadata.name, ok: false, error: null };
  let Model;
  try {
    Model = modelFor(obj.apiVersion, obj.kind);
  } catch (err) {
    entry.error = `no model for ${obj.apiVersion} ${obj.kind}: ${err.message}`;
    return entry;
  }
  if (typeof Model !== "function") {
    entry.error = `no model for ${obj.apiVersion} ${obj.kind}`;
    return entry;
  }
  try {
    new Model(obj).validate();
    entry.ok = true;
  } catch (err) {
    entry.error = err.message;
  }
  return entry;
});
process.stdout.write(JSON.stringify(results));
