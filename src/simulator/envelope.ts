/** One entry of `errors[]`; `error_chain` carries the detail Cloudflare nests under a generic header error. */
export interface CloudflareMessage {
  readonly code: number;
  readonly message: string;
  readonly error_chain?: readonly CloudflareMessage[];
}

/** What a route answers: status, the JSON text of the body and any extra headers. */
export interface SimulatedResponse {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** `{success: true, errors: [], messages: [], result}` with `result` already JSON text (common.yaml api-response-common). */
export function success(resultJson: string): SimulatedResponse {
  return { status: 200, body: `{"success":true,"errors":[],"messages":[],"result":${resultJson}}` };
}

/** The shared failure envelope: at least one error and `result: null` (common.yaml api-response-common-failure). */
export function failure(status: number, ...errors: readonly CloudflareMessage[]): SimulatedResponse {
  return { status, body: JSON.stringify({ success: false, errors, messages: [], result: null }) };
}

// Codes observed in public issues and code (API-NOTES.md §5); Cloudflare publishes no catalogue.
export const NO_ROUTE: CloudflareMessage = { code: 7003, message: 'No route for the URI' };
export const MISSING_CREDENTIALS: CloudflareMessage = {
  code: 9106,
  message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers',
};
export const MALFORMED_AUTHORIZATION: CloudflareMessage = {
  code: 6003,
  message: 'Invalid request headers',
  error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
};
export const INVALID_TOKEN: CloudflareMessage = { code: 9109, message: 'Invalid access token' };
export const WRONG_ACCOUNT: CloudflareMessage = { code: 9109, message: 'Unauthorized to access requested resource' };
export const MISSING_PERMISSION: CloudflareMessage = { code: 10000, message: 'Authentication error' };
// No JSON code for the API rate limit is documented; 1015 is the code of Cloudflare's "You are being rate limited" page.
export const RATE_LIMITED: CloudflareMessage = {
  code: 1015,
  message: 'Rate limited. Please wait and consider throttling your request speed',
};
// Parameter validation errors are not catalogued either; 1001 keeps the shape (code >= 1000) and a readable message.
export const INVALID_PARAMETER_CODE = 1001;

export function unroutableAccount(path: string): CloudflareMessage {
  return { code: 7003, message: `Could not route to ${path}, perhaps your object identifier is invalid?` };
}
