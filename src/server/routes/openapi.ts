import { z } from 'zod';
import { ROLES } from '../../store/auth-store.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../auth/authenticate.js';
import { ROUTE_RESPONSES, type ResponseDoc } from './responses.js';
import { defineRoute, type Route } from './route.js';

export const OPENAPI_URL = '/api/openapi.json';

/**
 * The OpenAPI 3.1 description of every route, built from the same definitions and zod schemas the server
 * validates with, so it cannot drift. `x-roles` lists who may call an operation; `x-csrf` marks the
 * operations a browser session must send the CSRF header for.
 */
export function openApiDocument(routes: readonly Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const csrf = route.access !== 'public' && route.method !== 'GET';
    const parameters = [
      ...objectParameters(route.schemas.params, 'path'),
      ...objectParameters(route.schemas.query, 'query'),
      ...(csrf ? [{ $ref: '#/components/parameters/csrf' }] : []),
    ];
    const operation: Record<string, unknown> = {
      summary: route.summary,
      operationId: `${route.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(\w)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      'x-roles': route.access === 'public' ? [] : [...route.access],
      'x-csrf': csrf,
      security: route.access === 'public' ? [] : [{ session: [] }, { apiKey: [] }],
      ...(parameters.length === 0 ? {} : { parameters }),
      ...(route.schemas.body === undefined
        ? {}
        : {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: closed(toJsonSchema(route.schemas.body, 'input')) } },
            },
          }),
      responses: {
        [String(route.status)]: successResponse(ROUTE_RESPONSES[`${route.method} ${route.url}`]),
        ...errorResponses(route),
        default: { $ref: '#/components/responses/Error' },
      },
    };
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'zerotrail API', version: '1', description: DESCRIPTION },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        apiKey: { type: 'http', scheme: 'bearer' },
      },
      parameters: {
        csrf: {
          name: CSRF_HEADER,
          in: 'header',
          required: false,
          description: 'Required with a session cookie (the csrfToken from login or /api/me); not with an API key.',
          schema: { type: 'string' },
        },
      },
      schemas: { Error: ERROR_SCHEMA },
      responses: ERROR_RESPONSES,
    },
    paths,
  };
}

const DESCRIPTION = [
  'Every error answers with the Error schema. A query parameter or body field a route does not declare is refused',
  'with 400 (HTTP_REQUEST_INVALID) naming it, as is a query parameter given twice. A path asked with a method it',
  'does not answer gets 405 (HTTP_METHOD_NOT_ALLOWED) with an Allow header; OPTIONS too, as the API is same-origin',
  'and sends no CORS headers. Error codes: docs/errors.md.',
].join(' ');

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: {
        code: { type: 'string', description: 'stable; listed in docs/errors.md' },
        message: { type: 'string', description: 'what happened and what to do, for people' },
        requestId: { type: 'string', description: 'also in the x-request-id header and the server log' },
        hint: { type: 'string' },
        details: { type: 'object', description: 'safe details, such as `problems` for HTTP_REQUEST_INVALID' },
      },
    },
  },
};

const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };

const ERROR_RESPONSES = {
  BadRequest: {
    description: 'HTTP_REQUEST_INVALID: a parameter or body field is invalid, unknown or given twice',
    content: errorContent,
  },
  Unauthorized: {
    description: 'AUTH_REQUIRED: no valid session cookie or API key (or, on the sign-in routes, a refused sign-in)',
    content: errorContent,
  },
  Forbidden: {
    description:
      "AUTH_FORBIDDEN: the caller's role does not allow this; AUTH_CSRF_INVALID: a session without its CSRF token",
    content: errorContent,
  },
  NotFound: { description: 'What the path names does not exist', content: errorContent },
  TooManyRequests: {
    description: 'AUTH_RATE_LIMITED: too many failed logins for this account or from this address',
    headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer', minimum: 1 } } },
    content: errorContent,
  },
  Error: { description: 'Any other error', content: errorContent },
};

// Public routes that still refuse a caller: the sign-in routes themselves.
const SIGN_IN_REFUSALS: Readonly<Record<string, readonly ('401' | '429')[]>> = {
  'POST /api/login': ['401', '429'],
  'GET /api/login/link': ['401'],
};

const ERROR_REFS = {
  '400': 'BadRequest',
  '401': 'Unauthorized',
  '403': 'Forbidden',
  '404': 'NotFound',
  '429': 'TooManyRequests',
} as const;

function errorResponses(route: Route): Record<string, unknown> {
  const statuses = new Set<keyof typeof ERROR_REFS>(['400']);
  if (route.access !== 'public') {
    statuses.add('401');
    statuses.add('403');
  }
  for (const status of SIGN_IN_REFUSALS[`${route.method} ${route.url}`] ?? []) statuses.add(status);
  if (route.schemas.params !== undefined) statuses.add('404');
  return Object.fromEntries(
    [...statuses].sort().map((status) => [status, { $ref: `#/components/responses/${ERROR_REFS[status]}` }]),
  );
}

function successResponse(doc: ResponseDoc | undefined): Record<string, unknown> {
  const headers = Object.entries(doc?.headers ?? {}).map(([name, header]) => [
    name,
    { description: header.description, schema: { type: 'string' } },
  ]);
  const content =
    doc?.media === undefined
      ? {
          'application/json': {
            schema: doc?.schema === undefined ? { type: 'object' } : open(toJsonSchema(doc.schema, 'output')),
          },
        }
      : Object.fromEntries(
          Object.entries(doc.media).map(([type, description]) => [type, { schema: { type: 'string', description } }]),
        );
  return {
    description: doc?.description ?? 'Success',
    ...(headers.length === 0 ? {} : { headers: Object.fromEntries(headers) }),
    content,
  };
}

type JsonSchema = Record<string, unknown>;

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // Input side: what a client sends; output side: what the server answers. Transforms (trimming, lower-casing)
  // are not representable and are skipped.
  const json: JsonSchema = { ...z.toJSONSchema(schema, { io, unrepresentable: 'any' }) };
  delete json['$schema'];
  return json;
}

/** Every object that lists its properties refuses others, as the routes do (route.ts). */
function closed(schema: unknown): JsonSchema {
  return mapObjects(schema, (node) =>
    isObject(node['properties']) && node['additionalProperties'] === undefined
      ? { ...node, additionalProperties: false }
      : node,
  );
}

/** Answers may gain fields: zod's output side closes every object, which would make that a breaking change. */
function open(schema: unknown): JsonSchema {
  return mapObjects(schema, (node) => {
    if (node['additionalProperties'] !== false) return node;
    return Object.fromEntries(Object.entries(node).filter(([key]) => key !== 'additionalProperties'));
  });
}

function mapObjects(value: unknown, change: (node: JsonSchema) => JsonSchema): JsonSchema {
  const walk = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(walk);
    if (!isObject(item)) return item;
    return change(Object.fromEntries(Object.entries(item).map(([key, inner]) => [key, walk(inner)])));
  };
  return walk(value) as JsonSchema;
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Query and path parameters. A number is text on the wire, so its input side is only a pattern of digits; its
 * bounds and default live on the output side, and that is what is described: `integer`, minimum, maximum,
 * default. Defaults of other parameters are taken from the output side too.
 */
function objectParameters(schema: z.ZodType | undefined, location: 'path' | 'query'): Record<string, unknown>[] {
  if (schema === undefined) return [];
  const input = toJsonSchema(schema, 'input');
  const output = toJsonSchema(schema, 'output');
  const properties = (input['properties'] ?? {}) as Record<string, JsonSchema>;
  const outputs = (output['properties'] ?? {}) as Record<string, JsonSchema | undefined>;
  const required = new Set((input['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const out = outputs[name];
    const numeric = out !== undefined && (out['type'] === 'integer' || out['type'] === 'number');
    const described =
      property['type'] === 'string' && numeric
        ? out
        : out?.['default'] !== undefined && property['default'] === undefined
          ? { ...property, default: out['default'] }
          : property;
    return { name, in: location, required: location === 'path' || required.has(name), schema: described };
  });
}

export function openApiRoute(routes: () => readonly Route[]): Route {
  return defineRoute({
    method: 'GET',
    url: OPENAPI_URL,
    summary: 'This description of the API',
    access: ROLES,
    handler: () => Promise.resolve(openApiDocument(routes())),
  });
}
