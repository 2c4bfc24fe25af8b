import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import ajvFormatsImport from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

// Validates requests and responses against Cloudflare's published OpenAPI files in shared/cloudflare/.
// The additions file (newer parameters and endpoints) replaces the 2024 snapshot for every operation it defines.
// Operations outside the trimmed Zero Trust copy (such as /user/tokens/{token_id}) come from the full 2024 spec,
// which is loaded only when such an operation is first needed (it is 4 MB).

const SPEC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'cloudflare');
const API_PREFIX = '/client/v4';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

type Json = Record<string, unknown>;

interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly required: boolean;
  readonly schema: Json;
}

interface Operation {
  readonly source: string;
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  readonly pathParamNames: readonly string[];
  readonly parameters: readonly Parameter[];
  readonly responses: Json;
}

interface Registry {
  readonly ajv: Ajv;
  readonly operations: readonly Operation[];
  full: readonly Operation[] | undefined;
  readonly commonFailure: ValidateFunction;
  readonly validators: Map<string, ValidateFunction>;
}

let registry: Registry | undefined;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function loadJson(file: string): Json {
  const parsed: unknown = JSON.parse(readFileSync(join(SPEC_DIR, file), 'utf8'));
  if (!isObject(parsed)) throw new Error(`${file} is not an object`);
  return parsed;
}

// Local refs (`#/components/...`) inside an operation only make sense relative to the document they came from,
// so every ref is rewritten to name that document explicitly once they all live in one Ajv instance.
function qualifyRefs(value: unknown, source: string): unknown {
  if (Array.isArray(value)) return value.map((item) => qualifyRefs(item, source));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] =
      key === '$ref' && typeof inner === 'string' && inner.startsWith('#')
        ? `${source}${inner}`
        : qualifyRefs(inner, source);
  }
  return out;
}

function resolve(doc: Json, value: unknown): unknown {
  let current = value;
  for (let hops = 0; isObject(current) && typeof current['$ref'] === 'string' && hops < 20; hops++) {
    const ref = current['$ref'];
    let target: unknown = doc;
    for (const part of ref.replace(/^#\//, '').split('/')) {
      target = isObject(target) ? target[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    }
    current = target;
  }
  return current;
}

function templatePattern(template: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const body = template
    .split('/')
    .map((segment) => {
      const match = /^\{(.+)\}$/.exec(segment);
      if (match?.[1] !== undefined) {
        names.push(match[1]);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { pattern: new RegExp(`^${body}$`), names };
}

function collectOperations(doc: Json, source: string): Operation[] {
  const operations: Operation[] = [];
  const paths = isObject(doc['paths']) ? doc['paths'] : {};
  for (const [template, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    const shared: unknown[] = Array.isArray(item['parameters']) ? (item['parameters'] as unknown[]) : [];
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const own: unknown[] = Array.isArray(op['parameters']) ? (op['parameters'] as unknown[]) : [];
      const raw = [...shared, ...own];
      const parameters = raw
        .map((p) => resolve(doc, p))
        .filter(isObject)
        .map((p) => ({
          name: String(p['name']),
          in: String(p['in']),
          required: p['required'] === true,
          schema: isObject(p['schema']) ? (qualifyRefs(p['schema'], source) as Json) : {},
        }));
      const { pattern, names } = templatePattern(template);
      operations.push({
        source,
        method: method.toUpperCase(),
        template,
        pattern,
        pathParamNames: names,
        parameters,
        responses: isObject(op['responses']) ? op['responses'] : {},
      });
    }
  }
  return operations;
}

function load(): Registry {
  if (registry !== undefined) return registry;
  // ajv-formats is CommonJS; depending on the loader its default export arrives wrapped once more.
  const imported: unknown = ajvFormatsImport;
  const addFormats = (
    typeof imported === 'function' ? imported : (imported as { default: unknown }).default
  ) as FormatsPlugin;
  // OpenAPI 3.0 schemas carry keywords JSON Schema does not know (example, x-*, readOnly); strict mode would reject them.
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, discriminator: false });
  addFormats(ajv);
  const official = loadJson('openapi-zero-trust.json');
  const additions = loadJson('openapi-zero-trust-additions.json');
  const parsedCommon: unknown = parseYaml(readFileSync(join(SPEC_DIR, 'common.yaml'), 'utf8'));
  if (!isObject(parsedCommon)) throw new Error('common.yaml is not an object');
  ajv.addSchema(official, 'official.json');
  ajv.addSchema(additions, 'additions.json');
  ajv.addSchema(parsedCommon, 'common.json');
  const newer = collectOperations(additions, 'additions.json');
  const older = collectOperations(official, 'official.json').filter(
    (op) => !newer.some((n) => n.template === op.template && n.method === op.method),
  );
  const commonFailure = ajv.compile({ $ref: 'common.json#/components/schemas/api-response-common-failure' });
  registry = { ajv, operations: [...newer, ...older], full: undefined, commonFailure, validators: new Map() };
  return registry;
}

function fullOperations(reg: Registry): readonly Operation[] {
  if (reg.full === undefined) {
    const full = loadJson('openapi-full.json');
    reg.ajv.addSchema(full, 'full.json');
    reg.full = collectOperations(full, 'full.json');
  }
  return reg.full;
}

function compiled(reg: Registry, key: string, schema: unknown): ValidateFunction {
  let fn = reg.validators.get(key);
  if (fn === undefined) {
    fn = reg.ajv.compile(isObject(schema) ? schema : {});
    reg.validators.set(key, fn);
  }
  return fn;
}

function describe(fn: ValidateFunction): string[] {
  return describeErrors(fn.errors ?? []);
}

function describeErrors(errors: NonNullable<ValidateFunction['errors']>): string[] {
  return errors.map(
    (e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}

function splitUrl(url: string): { path: string; search: URLSearchParams } {
  const parsed = new URL(url, 'http://localhost');
  return { path: parsed.pathname, search: parsed.searchParams };
}

function findOperation(
  reg: Registry,
  method: string,
  path: string,
): { op: Operation; params: Map<string, string> } | undefined {
  const candidates = path.startsWith(`${API_PREFIX}/`) ? [path.slice(API_PREFIX.length)] : [path];
  // A custom simulator prefix is allowed: fall back to matching the longest suffix of the path.
  const segments = path.split('/');
  for (let i = 2; i < segments.length; i++) candidates.push(`/${segments.slice(i).join('/')}`);
  for (const operations of [reg.operations, undefined]) {
    for (const candidate of candidates) {
      for (const op of operations ?? fullOperations(reg)) {
        if (op.method !== method.toUpperCase()) continue;
        const match = op.pattern.exec(candidate);
        if (match === null) continue;
        const params = new Map<string, string>();
        op.pathParamNames.forEach((name, i) => params.set(name, decodeURIComponent(match[i + 1] ?? '')));
        return { op, params };
      }
    }
  }
  return undefined;
}

function schemaType(reg: Registry, schema: Json): string | undefined {
  let current: unknown = schema;
  for (let hops = 0; isObject(current) && typeof current['$ref'] === 'string' && hops < 20; hops++) {
    const [docId, pointer] = current['$ref'].split('#');
    const doc = reg.ajv.getSchema(docId ?? '')?.schema;
    current = resolve(isObject(doc) ? doc : {}, { $ref: `#${pointer ?? ''}` });
  }
  if (!isObject(current)) return undefined;
  if (typeof current['type'] === 'string') return current['type'];
  if (Array.isArray(current['enum']) && current['enum'].every((v) => typeof v === 'string')) return 'string';
  return undefined;
}

// Query strings carry text only; turn each value into what its schema's type expects before validating it.
function coerce(type: string | undefined, raw: string): unknown {
  if (type === 'integer' || type === 'number')
    return raw.trim() === '' ? raw : Number.isFinite(Number(raw)) ? Number(raw) : raw;
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}

/** Problems with a request against the documented operation: unknown path or parameter, bad or missing values. [] when valid. */
export function validateRequest(method: string, url: string): string[] {
  const reg = load();
  const { path, search } = splitUrl(url);
  const found = findOperation(reg, method, path);
  if (found === undefined) return [`no documented operation for ${method.toUpperCase()} ${path}`];
  const { op, params } = found;
  const problems: string[] = [];
  const key = (p: Parameter): string => `${op.source} ${op.method} ${op.template} ${p.in} ${p.name}`;
  for (const p of op.parameters.filter((q) => q.in === 'path')) {
    const value = params.get(p.name);
    const fn = compiled(reg, key(p), p.schema);
    if (value !== undefined && !fn(coerce(schemaType(reg, p.schema), value))) {
      problems.push(`path parameter ${p.name}: ${describe(fn).join('; ')}`);
    }
  }
  const query = op.parameters.filter((q) => q.in === 'query');
  for (const name of new Set(search.keys())) {
    if (!query.some((q) => q.name === name)) problems.push(`unknown query parameter ${name}`);
  }
  for (const p of query) {
    const values = search.getAll(p.name);
    if (values.length === 0) {
      if (p.required) problems.push(`missing required query parameter ${p.name}`);
      continue;
    }
    const type = schemaType(reg, p.schema);
    const fn = compiled(reg, key(p), p.schema);
    if (type === 'array') {
      const items = isObject(p.schema['items']) ? p.schema['items'] : {};
      const itemType = schemaType(reg, items);
      if (!fn(values.map((v) => coerce(itemType, v))))
        problems.push(`query parameter ${p.name}: ${describe(fn).join('; ')}`);
      continue;
    }
    if (values.length > 1) problems.push(`query parameter ${p.name} is repeated but is not an array`);
    const first = values[0] ?? '';
    if (!fn(coerce(type, first)))
      problems.push(`query parameter ${p.name}=${JSON.stringify(first)}: ${describe(fn).join('; ')}`);
  }
  return problems;
}

const CANONICAL_FAILURE = {
  success: false,
  errors: [{ code: 7003, message: 'No route for the URI' }],
  messages: [],
  result: null,
};

function responseSchema(response: unknown): unknown {
  if (!isObject(response)) return undefined;
  const content = response['content'];
  if (!isObject(content)) return undefined;
  const json = content['application/json'];
  return isObject(json) ? json['schema'] : undefined;
}

/** Problems with a response body against the schema documented for that status (or its `4XX`/default entry). [] when valid. */
export function validateResponse(method: string, url: string, status: number, body: unknown): string[] {
  const reg = load();
  const { path } = splitUrl(url);
  const found = findOperation(reg, method, path);
  if (found === undefined) {
    // Unrouted paths answer with the shared failure envelope (common.yaml's example is the 7003 "No route" error).
    if (status >= 400 && !reg.commonFailure(body))
      return describe(reg.commonFailure).map((p) => `failure envelope ${p}`);
    return status >= 400 ? [] : [`no documented operation for ${method.toUpperCase()} ${path}`];
  }
  const { op } = found;
  const statusKey = String(status);
  const classKey = `${statusKey[0] ?? ''}XX`;
  const entryKey = [statusKey, classKey, 'default'].find((k) => k in op.responses);
  const schema = entryKey === undefined ? undefined : responseSchema(op.responses[entryKey]);
  if (schema === undefined) {
    if (status < 400) return [`status ${status} is not documented for ${op.method} ${op.template}`];
    // Errors the spec leaves undocumented (5xx, 429 on some operations) still carry the shared failure envelope.
    if (!reg.commonFailure(body)) return describe(reg.commonFailure).map((p) => `failure envelope ${p}`);
    return [];
  }
  const fn = compiled(
    reg,
    `${op.source} ${op.method} ${op.template} response ${entryKey ?? ''}`,
    qualifyRefs(schema, op.source),
  );
  // Some official failure schemas are unsatisfiable (/user/tokens/verify's 4XX is allOf a success envelope with
  // `success: [true]` and the failure envelope with `success: [false]`); when even a canonical failure fails,
  // judge error bodies by the shared failure envelope instead.
  if (status >= 400 && !fn(CANONICAL_FAILURE)) {
    if (!reg.commonFailure(body)) return describe(reg.commonFailure).map((p) => `failure envelope ${p}`);
    return [];
  }
  if (fn(body)) return [];
  // Some official oneOf lists overlap: audit_logs' success body is oneOf a result-carrying envelope and the bare
  // common envelope, and every real success body matches both. A body that matches several documented variants is
  // accepted; one that matches none still fails.
  const real = (fn.errors ?? []).filter((e) => !(e.keyword === 'oneOf' && Array.isArray(e.params['passingSchemas'])));
  return describeErrors(real);
}

/** Problems with `value` against a named schema of the full 2024 spec (`#/components/schemas/<name>`). [] when valid. */
export function validateComponent(name: string, value: unknown): string[] {
  const reg = load();
  fullOperations(reg);
  const fn = compiled(reg, `component ${name}`, { $ref: `full.json#/components/schemas/${name}` });
  return fn(value) ? [] : describe(fn);
}
