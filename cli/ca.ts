import { readFileSync } from 'node:fs';
import { UsageError } from './command';

/** The PEM file given with --ca (MQLIVE_CA): the certificate, or its CA, to trust for mqtts:// and wss://. */
export function readCa(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--ca ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

export const CA_OPTION = {
  env: 'MQLIVE_CA',
  type: 'string',
  help: "PEM certificate to trust for mqtts:// and wss:// (a self-signed broker's cert.pem, or the CA that signed it)",
} as const;
