import type { Route } from './route.js';
import { tokenVerifyResult } from './token-verify-result.js';

/** GET /accounts/{account_id}/tokens/verify (additions file, `account-api-tokens-verify-token`). */
export const accountTokenVerify: Route = {
  name: 'account-token-verify',
  pattern: /^\/accounts\/([^/]+)\/tokens\/verify$/,
  accountScoped: true,
  answersInactiveTokens: true,
  handle: (ctx) => tokenVerifyResult(ctx.token),
};
