import {
  AGGREGATE_ROUTE,
  EXPORT_EVENTS_ROUTE,
  GET_EVENT_ROUTE,
  INVENTORY_ROUTE,
  SEARCH_EVENTS_ROUTE,
} from './events.js';
import { HEALTH_ROUTE } from './health.js';
import { openApiRoute } from './openapi.js';
import type { Route } from './route.js';
import { LOGIN_ROUTE, LOGOUT_ROUTE, ME_ROUTE } from './session.js';
import { ADD_SOURCE_ROUTE, LIST_SOURCES_ROUTE, REMOVE_SOURCE_ROUTE, TEST_SOURCE_ROUTE } from './sources.js';
import { TIMELINE_ROUTE } from './timelines.js';
import {
  ADD_USER_ROUTE,
  AUDIT_ROUTE,
  CREATE_API_KEY_ROUTE,
  LIST_API_KEYS_ROUTE,
  LIST_USERS_ROUTE,
  REMOVE_USER_ROUTE,
  REVOKE_API_KEY_ROUTE,
  SET_USER_ROLE_ROUTE,
} from './users.js';

/** Every route the server registers; /api/openapi.json is generated from this list. */
export const ALL_ROUTES: readonly Route[] = [
  HEALTH_ROUTE,
  LOGIN_ROUTE,
  LOGOUT_ROUTE,
  ME_ROUTE,
  LIST_SOURCES_ROUTE,
  ADD_SOURCE_ROUTE,
  TEST_SOURCE_ROUTE,
  REMOVE_SOURCE_ROUTE,
  SEARCH_EVENTS_ROUTE,
  GET_EVENT_ROUTE,
  AGGREGATE_ROUTE,
  EXPORT_EVENTS_ROUTE,
  INVENTORY_ROUTE,
  TIMELINE_ROUTE,
  LIST_USERS_ROUTE,
  ADD_USER_ROUTE,
  SET_USER_ROLE_ROUTE,
  REMOVE_USER_ROUTE,
  CREATE_API_KEY_ROUTE,
  LIST_API_KEYS_ROUTE,
  REVOKE_API_KEY_ROUTE,
  AUDIT_ROUTE,
  openApiRoute(() => ALL_ROUTES),
];
