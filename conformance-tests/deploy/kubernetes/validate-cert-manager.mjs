// Validates cert-manager objects (JSON, one per line, in the file named by the first argument)
// against cert-manager's published API schemas, as carried by the npm package
// @kubernetes-models/cert-manager (generated from cert-manager's API types; its directory is
// the second argument). Two checks per object:
//   1. the package's own JSON-schema validator (types, required fields, enums, formats);
//   2. no field the API does not define: those validators accept unknown fields, which the
//      API server would drop, so a typo (`renewBefor`) would pass them. The field names come
//      from the package's TypeScript declarations, one interface per API type.
// Prints `ok KIND/NAME` or `invalid KIND/NAME: reasons` per object; exits 1 if any is invalid
// or of a kind it does not know (never a silent pass).
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const [, , objectsFile, packageDir] = process.argv;
const nodeModules = resolve(packageDir, "..", "..");

const models = {
  "cert-manager.io/v1/ClusterIssuer": "cert-manager.io/v1/ClusterIssuer",
  "cert-manager.io/v1/Issuer": "cert-manager.io/v1/Issuer",
  "cert-manager.io/v1/Certificate": "cert-manager.io/v1/Certificate",
};

// The declared properties of the interface in one .d.ts file: name -> { type, file }.
const interfaces = new Map();
function declaredProperties(dtsFile) {
  if (interfaces.has(dtsFile)) return interfaces.get(dtsFile);
  const text = readFileSync(dtsFile, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) {
    const spec = m[2].replace(/\.js$/, "");
    const base = spec.startsWith(".") ? join(dirname(dtsFile), spec) : join(nodeModules, spec);
    imports.set(m[1], base + ".d.ts");
  }
  // The model class lists every property, inherited ones too (the interface may extend one).
  const body = text.match(/export declare class \w+ extends Model<\w+>[^{]*\{\n([\s\S]*?)\n\}/);
  let props = null;
  if (body) {
    props = new Map();
    // The class's own lines: `    "name"?: Type;`
    for (const m of body[1].matchAll(/^ {4}"([^"]+)"\??: (.+);$/gm)) {
      const type = m[2];
      const element = (type.match(/^Array<(\w+)>$/) || [null, type])[1];
      props.set(m[1], { type, file: imports.get(element) || null });
    }
  }
  interfaces.set(dtsFile, props);
  return props;
}

// Every path under `value` naming a field the declared interface lacks.
function unknownFields(value, dtsFile, path, found) {
  if (value === null || typeof value !== "object") return found;
  if (Array.isArray(value)) {
    value.forEach((item, i) => unknownFields(item, dtsFile, `${path}[${i}]`, found));
    return found;
  }
  if (!dtsFile || !existsSync(dtsFile)) return found;
  const props = declaredProperties(dtsFile);
  if (!props) return found; // a type alias (enum, free map): nothing to compare
  for (const [key, child] of Object.entries(value)) {
    const declared = props.get(key);
    if (!declared) {
      found.push(`${path}.${key}: unknown field`);
      continue;
    }
    unknownFields(child, declared.file, `${path}.${key}`, found);
  }
  return found;
}

let bad = 0;
for (const line of readFileSync(objectsFile, "utf8").split("\n").filter(Boolean)) {
  const object = JSON.parse(line);
  const id = `${object.kind}/${object.metadata?.name}`;
  const model = models[`${object.apiVersion}/${object.kind}`];
  if (!model) {
    console.log(`invalid ${id}: no cert-manager schema for ${object.apiVersion} ${object.kind}`);
    bad++;
    continue;
  }
  const problems = [];
  const module = await import(join(packageDir, `${model}.js`));
  const Model = module[object.kind];
  try {
    new Model(object).validate();
  } catch (error) {
    problems.push(error.message);
  }
  unknownFields(object, join(packageDir, `${model}.d.ts`), object.kind, problems);
  if (problems.length) {
    console.log(`invalid ${id}: ${problems.join("; ")}`);
    bad++;
  } else {
    console.log(`ok ${id}`);
  }
}
process.exit(bad ? 1 : 0);
