import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../core/errors.js';
import { fileSystemProblem } from '../core/file-error.js';

/** The system's CAs plus the operator's CA file: giving a CA file adds trust, it never replaces it. */
export async function readCaFile(target: string, caFile: string | undefined): Promise<string[] | undefined> {
  if (caFile === undefined) return undefined;
  try {
    return [...rootCertificates, await readFile(caFile, 'utf8')];
  } catch (error) {
    throw new ConfigError('CONFIG_INVALID', {
      message: `notify.targets ${target}: the CA file ${caFile} cannot be read: ${fileSystemProblem(error)}.`,
      cause: error,
    });
  }
}
