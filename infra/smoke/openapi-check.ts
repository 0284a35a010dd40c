/**
 * Checks a response against an OpenAPI document (the one the function serves), so the document
 * cannot drift from the code: the status must be documented for the path and method, every
 * header the function sets must be documented (and every required one present and valid), and
 * the body must have a documented media type and match its JSON Schema (2020-12, with Ajv).
 * A HEAD response must have no body. Used by the tests (`test/support/openapi.ts`) and by the
 * deployer's smoke test (`npm run smoke`), which checks a live deployment's answers.
 *
 * `checkAgainstSpec(doc, method, url, response)` returns the list of mismatches (empty when
 * the response is documented); `expectDocumented(...)` throws on any.
 */

import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/** A response as the function produced it, or as it came over the wire. */
export interface ObservedResponse {
  readonly status: number;
  /** Header names in any case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A JSON object. */
export type Json = Record<string, unknown>;

/** Headers HTTP itself adds on the wire; the function does not set them. */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);
const DOC_ID = 'urn:dialback:openapi';
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

const ajvByDoc = new WeakMap<object, { ajv: Ajv2020; compiled: Map<string, ValidateFunction> }>();

function validatorFor(doc: Json, schema: unknown): ValidateFunction {
  let entry = ajvByDoc.get(doc);
  if (entry === undefined) {
    // strict: false because the document also holds OpenAPI keywords (paths, info, example)
    // around the schemas; the schemas themselves are plain 2020-12.
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(doc, DOC_ID);
    entry = { ajv, compiled: new Map() };
    ajvByDoc.set(doc, entry);
  }
  const rewritten = JSON.stringify(schema).replaceAll('"$ref":"#/', `"$ref":"${DOC_ID}#/`);
  let validate = entry.compiled.get(rewritten);
  if (validate === undefined) {
    validate = entry.ajv.compile(JSON.parse(rewritten) as Json);
    entry.compiled.set(rewritten, validate);
  }
  return validate;
}

function resolve(doc: Json, value: unknown): Json {
  let node = value as Json;
  while (typeof node?.$ref === 'string') {
    const path = (node.$ref as string).replace(/^#\//, '').split('/');
    node = path.reduce<unknown>((at, key) => (at as Json | undefined)?.[key.replaceAll('~1', '/')], doc) as Json;
  }
  return node;
}

function findPathItem(doc: Json, path: string): Json | undefined {
  const paths = doc.paths as Json;
  if (path in paths) return paths[path] as Json;
  for (const [template, item] of Object.entries(paths)) {
    // [^/]* like the router: an empty `/check/` reaches that route and is its documented 400.
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]*').replaceAll('.', '\\.')}$`);
    if (pattern.test(path)) return item as Json;
  }
  return undefined;
}

function headerValue(schema: Json, value: string): unknown {
  return schema.type === 'integer' && /^\d+$/.test(value) ? Number(value) : value;
}

/** The mismatches between a response and the document (empty: it is documented exactly). */
export function checkAgainstSpec(doc: Json, method: string, url: string, response: ObservedResponse): string[] {
  const where = `${method.toUpperCase()} ${url} → ${response.status}`;
  const problems: string[] = [];
  const path = new URL(url, 'http://spec.invalid').pathname;
  const item = findPathItem(doc, path);
  const components = doc.components as Json;
  let described: Json | undefined;
  if (item === undefined) {
    if (response.status === 404) described = resolve(doc, (components.responses as Json).NotFound);
    else return [`${where}: the path is not in the document`];
  } else {
    const lower = method.toLowerCase();
    const operation = METHODS.has(lower) ? (item[lower] as Json | undefined) : undefined;
    if (operation === undefined) {
      // Methods that are not operations are refused on every path, as the document says in words.
      if (response.status !== 405) return [`${where}: the method is not in the document`];
      described = resolve(doc, (components.responses as Json).MethodNotAllowed);
    } else {
      const responses = operation.responses as Json;
      const entry = responses[String(response.status)] ?? responses.default;
      if (entry === undefined) return [`${where}: status ${response.status} is not documented`];
      described = resolve(doc, entry);
    }
  }

  const headers = new Map(Object.entries(response.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const documented = new Map(
    Object.entries((described.headers as Json | undefined) ?? {}).map(([k, v]) => [k.toLowerCase(), resolve(doc, v)]),
  );
  for (const [name, spec] of documented) {
    const value = headers.get(name);
    if (value === undefined) {
      if (spec.required === true) problems.push(`${where}: required header ${name} is missing`);
      continue;
    }
    const validate = validatorFor(doc, spec.schema);
    if (!validate(headerValue(spec.schema as Json, value))) {
      problems.push(`${where}: header ${name}: "${value}" ${validate.errors?.map((e) => e.message).join('; ')}`);
    }
  }
  for (const name of headers.keys()) {
    if (name !== 'content-type' && !TRANSPORT_HEADERS.has(name) && !documented.has(name)) {
      problems.push(`${where}: header ${name} is not documented`);
    }
  }

  const content = described.content as Json | undefined;
  // A HEAD answer has the GET's headers but never a body (RFC 9110 §9.3.2).
  if (method.toUpperCase() === 'HEAD') {
    if (response.body !== '') problems.push(`${where}: HEAD was answered with a body`);
    return problems;
  }
  if (content === undefined) {
    if (response.body !== '') problems.push(`${where}: a body was sent where none is documented`);
    return problems;
  }
  const mediaType = (headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  const media = content[mediaType] as Json | undefined;
  if (media === undefined) {
    problems.push(`${where}: content-type "${mediaType}" is not documented (${Object.keys(content).join(', ')})`);
    return problems;
  }
  let body: unknown = response.body;
  if (mediaType.endsWith('json')) {
    try {
      body = JSON.parse(response.body);
    } catch {
      problems.push(`${where}: the body is not JSON`);
      return problems;
    }
  }
  const validate = validatorFor(doc, media.schema);
  if (!validate(body)) {
    problems.push(
      `${where}: body does not match: ${validate.errors?.map((e) => `${e.instancePath} ${e.message}`).join('; ')}`,
    );
  }
  return problems;
}

/** Throws with every mismatch when the response is not documented exactly. */
export function expectDocumented(doc: Json, method: string, url: string, response: ObservedResponse): void {
  const problems = checkAgainstSpec(doc, method, url, response);
  if (problems.length > 0) throw new Error(`Response differs from the OpenAPI document:\n${problems.join('\n')}`);
}
