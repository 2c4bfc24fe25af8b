import { failure, success, unroutableAccount } from '../envelope.js';
import { hex } from '../ids.js';
import { isUserScoped, PERMISSIONS, permissionGroupId } from '../permissions.js';
import type { ResolvedToken, Route } from './route.js';

function policy(token: ResolvedToken, salt: number, resources: string[], names: readonly string[]): object[] {
  if (names.length === 0) return [];
  return [
    {
      id: hex(0x70c3, parseInt(token.id.slice(0, 8), 16), salt, 32),
      effect: 'allow',
      resources: Object.fromEntries(resources.map((r) => [r, '*'])),
      permission_groups: names.map((name) => ({ id: permissionGroupId(name), name })),
    },
  ];
}

/**
 * The token as `GET /user/tokens/{token_id}` returns it (spec-2024 `iam_token`): its permission groups sit in one
 * policy over its accounts and, for user-level groups such as API Tokens Read, one over the token owner's user.
 */
function tokenDetails(token: ResolvedToken, userId: string): Record<string, unknown> {
  const accountGroups = token.permissions.filter((p) => !isUserScoped(p));
  const userGroups = token.permissions.filter((p) => isUserScoped(p));
  return {
    id: token.id,
    name: token.name,
    status: token.status,
    issued_on: token.issuedOn,
    modified_on: token.issuedOn,
    ...(token.expiresOn === undefined ? {} : { expires_on: token.expiresOn }),
    policies: [
      ...policy(
        token,
        1,
        token.accountIds.map((id) => `com.cloudflare.api.account.${id}`),
        accountGroups,
      ),
      ...policy(token, 2, [`com.cloudflare.api.user.${userId}`], userGroups),
    ],
  };
}

/** GET /user/tokens/{token_id} (spec-2024 `user-api-tokens-token-details`); needs API Tokens Read. */
export const userTokenDetails: Route = {
  name: 'user-token-details',
  pattern: /^\/user\/tokens\/([^/]+)$/,
  accountScoped: false,
  permission: PERMISSIONS.apiTokens,
  handle: ({ params, data }) => {
    const id = params[0] ?? '';
    const token = data.tokens().find((t) => t.id === id);
    if (token === undefined) return failure(404, unroutableAccount(`/user/tokens/${id}`));
    return success(JSON.stringify(tokenDetails(token, hex(data.seed, 0, 0xe2, 32))));
  },
};
