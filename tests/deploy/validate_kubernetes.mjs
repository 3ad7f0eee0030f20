// Validates every manifest in deploy/kubernetes.yaml against the Kubernetes
// API schema (kubernetes-models 5.1, offline): types, required fields, enums
// and formats. (Fields the schema does not know are not caught here yet: the
// package's compiled validators do not forbid them.)
// Input: the manifests as a JSON array on stdin (check_kubernetes_schema.sh
// converts the YAML). Exit 1 with every problem listed.
import { readFileSync } from "node:fs";

const documents = JSON.parse(readFileSync(0, "utf8"));
const problems = [];

async function modelFor(apiVersion, kind) {
  const path = `${apiVersion}/${kind}`;  // v1/Service, apps/v1/Deployment
  const module = await import(`kubernetes-models/${path}`);
  return module[kind];
}

for (const doc of documents) {
  const label = `${doc.kind}/${doc.metadata?.name}`;
  let Model;
  try {
    Model = await modelFor(doc.apiVersion, doc.kind);
  } catch (e) {
    problems.push(`${label}: unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
    continue;
  }
  try {
    new Model(doc).validate();
  } catch (e) {
    problems.push(`${label}: ${e.message}`);
  }
}
if (problems.length) {
  console.log("Kubernetes schema problems:\n  " + problems.join("\n  "));
  process.exit(1);
}
console.log(`deploy/kubernetes.yaml: ${documents.length} manifests valid against the Kubernetes schema`);
