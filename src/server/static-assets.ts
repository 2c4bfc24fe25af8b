import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../core/errors.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// Vite names built assets by content hash, so a browser may keep them; index.html must always be fresh.
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Serves the built web UI from `root` without authentication (it holds no data; the API behind it checks
 * every call). A path that does not name a file type the UI is built from is a page of the UI and gets
 * index.html, so a reload or a shared link works. Only regular files inside `root` are served, never a dotfile; unknown /api paths keep
 * the API's JSON 404.
 */
export function registerStaticAssets(server: FastifyInstance, root: string): void {
  const base = resolve(root);
  server.get('/*', async (request, reply) => {
    const pathname = decodePath(request.url);
    if (pathname === undefined || pathname === '/api' || pathname.startsWith('/api/')) {
      throw new AppError('HTTP_NOT_FOUND', { message: `No route answers ${request.method} on this path.` });
    }
    if (pathname.split('/').some((segment) => segment.startsWith('.'))) {
      throw new AppError('HTTP_NOT_FOUND', { message: 'No such file.' });
    }
    // Page paths may end in something that looks like an extension (`/timeline/user/alice@example.com`);
    // only the types the UI is built from name files.
    const isAsset = CONTENT_TYPES[extname(pathname)] !== undefined;
    const file = isAsset ? await regularFileInside(base, pathname) : resolve(base, 'index.html');
    const type = file === undefined ? undefined : CONTENT_TYPES[extname(file)];
    if (file === undefined || type === undefined) {
      throw new AppError('HTTP_NOT_FOUND', { message: 'No such file.' });
    }
    const body = await readFile(file).catch((error: unknown) => {
      throw new AppError('HTTP_NOT_FOUND', { message: 'The web UI is not built.', cause: error });
    });
    return reply
      .header('content-type', type)
      // Only a built file is immutable: a page path under /assets/ gets index.html, which must stay fresh.
      .header('cache-control', isAsset && pathname.startsWith('/assets/') ? IMMUTABLE : 'no-cache')
      .send(body);
  });
}

function decodePath(url: string): string | undefined {
  try {
    const pathname = decodeURIComponent(url.split('?')[0] ?? '/');
    return pathname.includes('\0') ? undefined : pathname;
  } catch {
    // A malformed percent-escape names no file.
    return undefined;
  }
}

async function regularFileInside(base: string, pathname: string): Promise<string | undefined> {
  const file = resolve(base, `.${pathname}`);
  if (!file.startsWith(`${base}${sep}`)) return undefined;
  try {
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    // Missing or unreadable: a plain 404 either way.
    return undefined;
  }
}
