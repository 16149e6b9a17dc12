"""The `nearcache:backend/store` export: the WIT callbacks, forwarded to the LFU store.

componentize-py looks for a class named after the exported interface in a
module of that name. All state is module-level: one component instance is one
store, and the host calls it from one thread at a time.
"""

from typing import List, Optional, Tuple

import wit_world.exports
from componentize_py_types import Err
from wit_world.imports import host

import options
from lfu import LfuStore

_store = LfuStore(options.Options())


class Store(wit_world.exports.Store):
    """The ten callbacks of wit/backend.wit."""

    def init(self, opts: List[Tuple[str, str]]) -> None:
        global _store
        try:
            parsed = options.parse(opts)
        except options.OptionError as error:
            raise Err(str(error))
        _store = LfuStore(parsed)
        host.log(host.Level.DEBUG, f"python-lfu: max-entries={parsed.max_entries} max-bytes={parsed.max_bytes}")

    def get(self, key: bytes, now_ms: int) -> Optional[bytes]:
        return _store.get(key, now_ms)

    def put(self, key: bytes, value: bytes, ttl_ms: Optional[int], now_ms: int) -> None:
        _store.put(key, value, ttl_ms, now_ms)

    def put_with_ref(self, key: bytes, redis_key: bytes, value: bytes, ttl_ms: Optional[int], now_ms: int) -> None:
        _store.put(key, value, ttl_ms, now_ms, redis_key)

    def invalidate(self, keys: Optional[List[bytes]]) -> None:
        _store.invalidate(keys)

    def invalidate_refs(self, redis_keys: Optional[List[bytes]]) -> None:
        _store.invalidate_refs(redis_keys)

    def flush(self) -> None:
        _store.flush()

    def stats(self) -> List[Tuple[str, int]]:
        return _store.stats()

    def sweep(self, now_ms: int, max: int) -> int:
        return _store.sweep(now_ms, max)

    def destroy(self) -> None:
        global _store
        _store = LfuStore(_store.options)
