/** Device and client ids: one MQTT topic level, safe in any tool, URL or file name. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const ID_MAX_LENGTH = 64;

/** Why `id` is not a valid device or client id, or null when it is. */
export function idProblem(id: unknown): string | null {
  if (typeof id !== 'string') return 'an id must be a string';
  if (id.length === 0) return 'an id must not be empty';
  if (id.length > ID_MAX_LENGTH) return `an id is at most ${ID_MAX_LENGTH} characters (got ${id.length})`;
  const bad = id.match(/[^A-Za-z0-9_-]/);
  if (bad) {
    const ch = bad[0];
    const why =
      ch === '+' || ch === '#'
        ? ' (an MQTT wildcard)'
        : ch === '/'
          ? ' (the MQTT topic level separator)'
          : '';
    return `an id may use only letters, digits, '_' and '-'; '${ch}'${why} is not allowed`;
  }
  return null;
}

export class InvalidIdError extends Error {
  constructor(kind: string, id: unknown, reason: string) {
    super(`invalid ${kind} id ${JSON.stringify(id)}: ${reason}`);
    this.name = 'InvalidIdError';
  }
}

/** Returns `id` unchanged when valid; throws an InvalidIdError that says why otherwise. */
export function assertId(id: unknown, kind = 'device'): string {
  const problem = idProblem(id);
  if (problem) throw new InvalidIdError(kind, id, problem);
  return id as string;
}

/** Turns any name (a hostname, say) into a valid id: other characters become '-', cut to 64. */
export function sanitizeId(name: string, fallback = 'device'): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, ID_MAX_LENGTH);
  return cleaned.length > 0 ? cleaned : fallback;
}
