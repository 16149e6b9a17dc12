// The `init` options this backend accepts, parsed and checked.

export const ACCEPTED = ['max-entries', 'max-bytes'];
export const DEFAULT_MAX_ENTRIES = 10000;
/** The byte bound when none is given: a quarter of the host's default 64 MiB memory limit. */
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/** An option the store refuses; the message names it and what is accepted. */
export class OptionError extends Error {}

function positive(name, value) {
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) === 0) {
    throw new OptionError(`option \`${name}\` must be a positive integer, not ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Parses `init`'s [name, value] pairs into { maxEntries, maxBytes }. */
export function parseOptions(pairs) {
  const seen = new Map();
  for (const [name, value] of pairs) {
    if (!ACCEPTED.includes(name)) {
      throw new OptionError(`unknown option \`${name}\`: this size-aware store accepts ${ACCEPTED.join(', ')}`);
    }
    if (seen.has(name)) throw new OptionError(`option \`${name}\` given twice`);
    seen.set(name, positive(name, value));
  }
  return {
    maxEntries: seen.get('max-entries') ?? DEFAULT_MAX_ENTRIES,
    maxBytes: seen.get('max-bytes') ?? DEFAULT_MAX_BYTES,
  };
}
