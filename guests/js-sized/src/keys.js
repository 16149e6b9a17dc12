// Binary-safe Map keys: a byte string becomes a JS string with one UTF-16
// code unit per byte (0-255), so equal bytes give equal strings.

const CHUNK = 8192;

/** The Map key for the bytes of a cache key or a Redis key. */
export function keyString(bytes) {
  if (bytes.length <= CHUNK) return String.fromCharCode.apply(null, bytes);
  let text = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
  }
  return text;
}
