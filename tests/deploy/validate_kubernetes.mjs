// Validates every manifest in deploy/kubernetes.yaml against the Kubernetes
// API schema, offline, in two passes:
//  1. kubernetes-models 5.1 (its compiled JSON-schema validators): types,
//     required fields, enums and formats;
//  2. the TypeScript compiler on the same package's type declarations, each
//     manifest as an object literal of its kind's interface: TypeScript's
//     excess-property check rejects a field the API does not have, at any depth
//     (a misspelt `resourcez` would otherwise be dropped by the API server
//     without a word), and says which field it meant.
// Input: the manifests as a JSON array on stdin (check_kubernetes_schema.sh
// converts the YAML). Exit 1 with every problem listed.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import ts from "typescript";

const documents = JSON.parse(readFileSync(0, "utf8"));
const problems = [];
const label = (doc) => `${doc.kind}/${doc.metadata?.name}`;

// Pass 1: the package's validators.
for (const doc of documents) {
  let Model;
  try {
    // v1/Service, apps/v1/Deployment, policy/v1/PodDisruptionBudget ...
    const module = await import(`kubernetes-models/${doc.apiVersion}/${doc.kind}`);
    Model = module[doc.kind];
  } catch (e) {
    problems.push(`${label(doc)}: unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
    continue;
  }
  try {
    new Model(doc).validate();
  } catch (e) {
    problems.push(`${label(doc)}: ${e.message}`);
  }
}

// Pass 2: unknown fields, through TypeScript's excess-property check. One
// in-memory source file; each manifest starts on a line we remember.
const here = path.dirname(fileURLToPath(import.meta.url));
const sourcePath = path.join(here, "kubernetes_manifests.generated.ts");
const lines = [];
const starts = [];  // [first line, label] per manifest
documents.forEach((doc, i) => {
  lines.push(`import type { I${doc.kind} as T${i} } from ` +
             `"kubernetes-models/${doc.apiVersion}/${doc.kind}";`);
});
documents.forEach((doc, i) => {
  starts.push([lines.length, label(doc)]);
  lines.push(...`export const m${i}: T${i} = ${JSON.stringify(doc, null, 2)};`.split("\n"));
});
const source = lines.join("\n");
const options = {
  noEmit: true, strict: true, target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
  skipLibCheck: true, types: [],
};
const host = ts.createCompilerHost(options);
const readDefault = host.getSourceFile.bind(host);
host.getSourceFile = (file, language, ...rest) =>
  file === sourcePath ? ts.createSourceFile(file, source, language, true)
                      : readDefault(file, language, ...rest);
const fileExists = host.fileExists.bind(host);
host.fileExists = (file) => file === sourcePath || fileExists(file);
const program = ts.createProgram([sourcePath], options, host);
for (const d of ts.getPreEmitDiagnostics(program)) {
  const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
  if (!d.file || d.file.fileName !== sourcePath) {
    problems.push(`type check: ${text}`);
    continue;
  }
  const { line } = d.file.getLineAndCharacterOfPosition(d.start);
  const owner = starts.filter(([first]) => first <= line).pop();
  const where = owner ? owner[1] : "imports";
  problems.push(`${where}: ${text} (at: ${lines[line].trim()})`);
}

if (problems.length) {
  console.log("Kubernetes schema problems:\n  " + problems.join("\n  "));
  process.exit(1);
}
console.log(`deploy/kubernetes.yaml: ${documents.length} manifests valid against the ` +
            "Kubernetes schema (types, required fields, enums, no unknown fields)");
