// Reads a multi-document YAML stream of Kubernetes objects (helm template, kubectl kustomize)
// on stdin and prints {"objects": [...], "problems": [...]} as JSON on stdout. With --validate,
// every object is checked against its kind's schema (kubernetes-models, and
// @kubernetes-models/prometheus-operator for monitoring.coreos.com); a kind without a schema
// is a problem too, so nothing passes unchecked. Exit code 0 unless the input is not YAML.
// Needs NODE_PATH pointing at the node_modules that test/deploy/setup_tools.sh installs.
'use strict';

const YAML = require('yaml');

const operatorGroup = 'monitoring.coreos.com';

function modelClass(apiVersion, kind) {
  const module = apiVersion.startsWith(`${operatorGroup}/`)
    ? `@kubernetes-models/prometheus-operator/${apiVersion}`
    : `kubernetes-models/${apiVersion}`;
  let exports;
  try {
    exports = require(module);
  } catch (error) {
    return null;
  }
  return exports[kind] || null;
}

function objectName(object) {
  const meta = object.metadata || {};
  return `${object.kind}/${meta.namespace ? meta.namespace + '/' : ''}${meta.name}`;
}

function check(object) {
  if (!object || typeof object !== 'object' || !object.apiVersion || !object.kind) {
    return 'not a Kubernetes object (apiVersion and kind are required)';
  }
  const Model = modelClass(object.apiVersion, object.kind);
  if (!Model) return `no schema for ${object.apiVersion} ${object.kind}`;
  try {
    new Model(object).validate();
    return null;
  } catch (error) {
    return error.message;
  }
}

function main(text) {
  const validate = process.argv.includes('--validate');
  const documents = YAML.parseAllDocuments(text, { version: '1.1' });
  const objects = [];
  const problems = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      process.stderr.write(`YAML error: ${document.errors[0].message}\n`);
      process.exit(2);
    }
    const object = document.toJS();
    if (object === null || object === undefined) continue;  // an empty document (`---` alone)
    objects.push(object);
    if (validate) {
      const problem = check(object);
      if (problem) problems.push({ object: objectName(object), problem });
    }
  }
  process.stdout.write(JSON.stringify({ objects, problems }));
}

// Stdin read as a stream: readFileSync(0) fails with EAGAIN on non-blocking pipes (Node 18).
const chunks = [];
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => main(chunks.join('')));
