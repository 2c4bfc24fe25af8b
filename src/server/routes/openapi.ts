import { z } from 'zod';
import { ROLES } from '../../store/auth-store.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../auth/authenticate.js';
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
              content: { 'application/json': { schema: toJsonSchema(route.schemas.body) } },
            },
          }),
      responses: {
        [String(route.status)]: { description: 'Success', content: { 'application/json': {} } },
        default: { description: 'Error', content: { 'application/json': { schema: ERROR_SCHEMA } } },
      },
    };
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'zerotrail API', version: '1' },
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
    },
    paths,
  };
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        requestId: { type: 'string' },
        hint: { type: 'string' },
        details: { type: 'object' },
      },
    },
  },
};

function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  // Input side: what a client sends. Transforms (trimming, lower-casing) are not representable and are skipped.
  const json: Record<string, unknown> = { ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) };
  delete json['$schema'];
  return json;
}

function objectParameters(schema: z.ZodType | undefined, location: 'path' | 'query'): Record<string, unknown>[] {
  if (schema === undefined) return [];
  const json = toJsonSchema(schema);
  const properties = (json['properties'] ?? {}) as Record<string, unknown>;
  const required = new Set((json['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    schema: property,
  }));
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
