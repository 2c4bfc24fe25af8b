import type { Route } from './route.js';
import { tokenVerifyResult } from './token-verify-result.js';

/** GET /user/tokens/verify (spec-2024, `user-api-tokens-verify-token`). */
export const userTokenVerify: Route = {
  name: 'user-token-verify',
  pattern: /^\/user\/tokens\/verify$/,
  accountScoped: false,
  answersInactiveTokens: true,
  handle: (ctx) => tokenVerifyResult(ctx.token),
};
