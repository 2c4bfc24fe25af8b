import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { App } from '../../app.js';
import { AppError } from '../../core/errors.js';
import type { AuditEntry, AuthStore, Role } from '../../store/auth-store.js';
import type { Principal } from '../auth/authenticate.js';
import type { LoginLimiter } from '../auth/login-limiter.js';

/** What every route handler may use: the opened installation, the auth store and the audit trail. */
export interface ServerServices {
  readonly app: App;
  readonly auth: AuthStore;
  /** Cookies get `Secure` when the server speaks TLS. */
  readonly tls: boolean;
  /** Called after a data source was added or removed, so a running collector can pick the change up. */
  readonly onSourcesChanged: () => void;
  readonly loginLimiter: LoginLimiter;
  audit(entry: Omit<AuditEntry, 'at'>): Promise<void>;
}

export const HTTP_METHODS = ['GET', 'POST', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface RouteInput<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** Null only on public routes. */
  readonly principal: Principal | null;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly services: ServerServices;
}

interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  readonly method: HttpMethod;
  /** Fastify syntax: `/api/sources/:name`. */
  readonly url: string;
  readonly summary: string;
  /** `public` needs no authentication; otherwise the roles allowed, checked before the handler runs. */
  readonly access: 'public' | readonly Role[];
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** The success status (default 200). */
  readonly status?: number;
  handler(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}

/** One API route: its schemas are the single source of both validation and /api/openapi.json. */
export interface Route {
  readonly method: HttpMethod;
  readonly url: string;
  readonly summary: string;
  readonly access: 'public' | readonly Role[];
  readonly schemas: { readonly params?: z.ZodType; readonly query?: z.ZodType; readonly body?: z.ZodType };
  readonly status: number;
  /** Validates the raw input with the route's schemas, then runs the handler. */
  handle(
    raw: RawInput,
    context: Omit<RouteInput<unknown, unknown, unknown>, 'params' | 'query' | 'body'>,
  ): Promise<unknown>;
}

export interface RawInput {
  readonly params: unknown;
  readonly query: unknown;
  readonly body: unknown;
}

export function defineRoute<
  P extends z.ZodType = z.ZodUndefined,
  Q extends z.ZodType = z.ZodUndefined,
  B extends z.ZodType = z.ZodUndefined,
>(spec: RouteSpec<P, Q, B>): Route {
  return {
    method: spec.method,
    url: spec.url,
    summary: spec.summary,
    access: spec.access,
    schemas: {
      ...(spec.params === undefined ? {} : { params: spec.params }),
      ...(spec.query === undefined ? {} : { query: spec.query }),
      ...(spec.body === undefined ? {} : { body: spec.body }),
    },
    status: spec.status ?? 200,
    handle: (raw, context) => {
      const query = singleValued(raw.query);
      // Path parameters need no such check: the router only captures the ones the URL names.
      const problems = [
        ...unknownFields(shapeOf(spec.query), query, ['query'], 'parameter'),
        ...unknownFields(shapeOf(spec.body), raw.body, ['body'], 'field'),
      ];
      const params = parseWith(spec.params, raw.params, 'params', []);
      const parsedQuery = parseWith(spec.query, query, 'query', problems);
      const body = parseWith(spec.body, raw.body, 'body', problems);
      return spec.handler({
        ...context,
        params: params as z.output<P>,
        query: parsedQuery as z.output<Q>,
        body: body as z.output<B>,
      });
    },
  };
}

/**
 * No query parameter takes a list, and a repeated one (`limit=1&limit=2`) arrives as an array that would be
 * reported as "received NaN"; it is refused by name instead, before either value is chosen silently.
 */
function singleValued(query: unknown): unknown {
  if (typeof query !== 'object' || query === null) return query;
  const repeated = Object.entries(query).filter(([, value]) => Array.isArray(value));
  if (repeated.length === 0) return query;
  const problems = repeated.map(([name]) => `query.${name}: given more than once; give it once`);
  throw new AppError('HTTP_REQUEST_INVALID', {
    message: `The request is invalid: ${problems.join('; ')}.`,
    details: { problems },
  });
}

function parseWith(schema: z.ZodType | undefined, value: unknown, part: string, unknown: readonly string[]): unknown {
  if (schema === undefined) {
    if (unknown.length > 0) throw invalid(unknown);
    return undefined;
  }
  // No body at all is an empty one; a JSON `null` is refused as what it is, not as an object missing every field.
  const result = schema.safeParse(value === undefined ? {} : value);
  const problems = [
    ...unknown,
    ...(result.success
      ? []
      : result.error.issues.map((issue) => `${[part, ...issue.path.map(String)].join('.')}: ${issue.message}`)),
  ];
  if (problems.length > 0) throw invalid(problems);
  return result.data;
}

function invalid(problems: readonly string[]): AppError {
  return new AppError('HTTP_REQUEST_INVALID', {
    message: `The request is invalid: ${problems.join('; ')}.`,
    details: { problems },
  });
}

/** The JSON Schema (input side) of a route's query or body; what `unknownFields` walks. */
type Shape = Readonly<Record<string, unknown>>;

const SHAPES = new WeakMap<z.ZodType, Shape>();

// No schema at all: the route takes no parameters or fields, so any is unknown.
const NOTHING: Shape = { type: 'object', properties: {} };

function shapeOf(schema: z.ZodType | undefined): Shape {
  if (schema === undefined) return NOTHING;
  let shape = SHAPES.get(schema);
  if (shape === undefined) {
    shape = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
    SHAPES.set(schema, shape);
  }
  return shape;
}

/**
 * Names every object key the schema does not declare, nested objects and arrays included. zod's objects drop
 * unknown keys silently, which turns a typo (`query=` for `q=`) into a request that succeeds and means something
 * else; so a key is refused by name, with the ones that would be understood. An object whose keys are open (a
 * record, a loose object) or whose shape the schema does not state is not checked.
 */
function unknownFields(shape: Shape, value: unknown, path: readonly string[], noun: string): string[] {
  if (Array.isArray(value)) {
    const items = shape['items'];
    if (!isShape(items)) return [];
    return value.flatMap((item, index) => unknownFields(items, item, [...path, String(index)], 'field'));
  }
  if (typeof value !== 'object' || value === null) return [];
  const branches = [shape, ...['anyOf', 'oneOf', 'allOf'].flatMap((key) => asShapes(shape[key]))];
  const properties = new Map<string, Shape>();
  let declared = false;
  for (const branch of branches) {
    const additional = branch['additionalProperties'];
    if (additional !== undefined && additional !== false) return [];
    const own = branch['properties'];
    if (!isShape(own)) continue;
    declared = true;
    for (const [name, property] of Object.entries(own)) {
      if (!properties.has(name) && isShape(property)) properties.set(name, property);
    }
  }
  if (!declared) return [];
  const known = [...properties.keys()];
  return Object.entries(value).flatMap(([name, item]) => {
    const property = properties.get(name);
    if (property !== undefined) return unknownFields(property, item, [...path, name], 'field');
    const takes = known.length === 0 ? `this takes no ${noun}s` : `the known ${noun}s are ${known.join(', ')}`;
    return [`${[...path, name].join('.')}: unknown ${noun}; ${takes}`];
  });
}

function isShape(value: unknown): value is Shape {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asShapes(value: unknown): Shape[] {
  return Array.isArray(value) ? value.filter(isShape) : [];
}
