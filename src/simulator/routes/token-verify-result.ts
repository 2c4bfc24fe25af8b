import { success } from '../envelope.js';
import type { SimulatedResponse } from '../envelope.js';
import type { ResolvedToken } from './route.js';

/** The verify result `{id, status, expires_on?}` shared by the user and account verify endpoints. */
export function tokenVerifyResult(token: ResolvedToken): SimulatedResponse {
  const result: Record<string, string> = { id: token.id, status: token.status };
  if (token.expiresOn !== undefined) result['expires_on'] = token.expiresOn;
  return success(JSON.stringify(result));
}
