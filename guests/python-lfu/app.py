"""python-lfu: a nearcache backend in Python that evicts the least frequently used entry.

The component exports `nearcache:backend/store` (wit/backend.wit). componentize-py
looks for the export's class, named after the interface (`Store`), in this app
module (whose name must differ from the world's); it is defined in store.py.

Policy: when `max-entries` or `max-bytes` would be exceeded, the entry with the
fewest hits goes first, the oldest of those first (O(1) LFU with frequency
buckets, lfu.py). Expiry is an indexed min-heap of deadlines (deadlines.py), so
`sweep` does work bounded by `max`. Options: `max-entries` (default 10000),
`max-bytes` (default: no bound); anything else is refused by name.

Build (needs componentize-py 0.25.1, `pip install componentize-py==0.25.1`):

    componentize-py -d ../../wit -w backend componentize app --stub-wasi \
        -o ../target/languages/python_lfu.wasm

`--stub-wasi` replaces the 25 WASI imports CPython would make (files, sockets...)
with stubs that trap, so the component imports nothing but `nearcache:backend/host`.
`tests/build.rs` and `just guest-python` run exactly this.
"""

from store import Store  # noqa: F401  (the export)
