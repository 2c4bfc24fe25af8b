import { accessRequests } from './access-requests.js';
import { accountTokenVerify } from './account-token-verify.js';
import type { Route } from './route.js';
import { userTokenVerify } from './user-token-verify.js';

/** Every simulated endpoint; a new endpoint is one file in this folder plus one line here. */
export const allRoutes: readonly Route[] = [userTokenVerify, accountTokenVerify, accessRequests];
