// js-sized: a nearcache backend in JavaScript, bounded by bytes, that evicts
// by GreedyDual-Size (large entries that are not read go first; sized.js).
//
// The component exports `nearcache:backend/store` (wit/backend.wit) as the
// `store` object below and imports only `nearcache:backend/host`. Options:
// `max-bytes` (key plus value bytes; default 16 MiB) and `max-entries`
// (default 10000); anything else is refused by name.
//
// Build with componentize-js 0.23.0 (SpiderMonkey, via StarlingMonkey), pinned
// in package.json and package-lock.json:
//
//     npm ci
//     npx componentize-js src/index.js --wit ../../wit -n backend \
//         -d stdio random clocks http fetch-event -o ../target/languages/js_sized.wasm
//
// `-d ...` (every feature) leaves out the WASI imports the engine would make.
// tests/build.rs and `just guest-js` run exactly this.
//
// Values as componentize-js passes them: list<u8> is a Uint8Array, u64 a
// BigInt, option's none `undefined`, and an `err` is returned by throwing
// an object whose `payload` is the error.

import { log } from 'nearcache:backend/host@0.1.0';

import { OptionError, parseOptions } from './options.js';
import { SizedStore } from './sized.js';

let current = new SizedStore(parseOptions([]));

export const store = {
  init(options) {
    let parsed;
    try {
      parsed = parseOptions(options);
    } catch (error) {
      if (error instanceof OptionError) throw { payload: error.message };
      throw error;
    }
    current = new SizedStore(parsed);
    log('debug', `js-sized: max-entries=${parsed.maxEntries} max-bytes=${parsed.maxBytes}`);
  },
  get(key, nowMs) {
    return current.get(key, nowMs);
  },
  put(key, value, ttlMs, nowMs) {
    current.put(key, value, ttlMs, nowMs, undefined);
  },
  putWithRef(key, redisKey, value, ttlMs, nowMs) {
    current.put(key, value, ttlMs, nowMs, redisKey);
  },
  invalidate(keys) {
    current.invalidate(keys);
  },
  invalidateRefs(redisKeys) {
    current.invalidateRefs(redisKeys);
  },
  flush() {
    current.flush();
  },
  stats() {
    return current.stats().map(([name, value]) => [name, BigInt(value)]);
  },
  sweep(nowMs, max) {
    return current.sweep(nowMs, max);
  },
  destroy() {
    current = new SizedStore(current.options);
  },
};
