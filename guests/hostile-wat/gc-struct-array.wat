;; A hostile guest. Its `get` allocates GC-managed objects: a struct and an
;; array of the GC proposal, which live outside linear memory, where the
;; host's memory limit does not count them.
;;
;; The host turns the GC proposal off (and wasmtime is built without its
;; collector): it must refuse this component at load, naming the proposal.
;;
;; The rest is the least a backend needs: `init` accepts any options, `get`
;; misses, everything else does nothing. Written in WebAssembly text because
;; no compiler for a backend language emits GC types; the build wraps it
;; into a component of the `nearcache:backend/backend` world.
(module
  (type $entry (struct (field $hits (mut i32)) (field $expires (mut i64))))
  (type $bytes (array (mut i8)))

  (memory (export "memory") 1)
  ;; Where calls return their results (8-byte aligned), and the bump
  ;; allocator's next free byte.
  (global $ret i32 (i32.const 16))
  (global $heap (mut i32) (i32.const 64))

  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $at i32)
    ;; Round up to the alignment, then grow memory if the block does not fit.
    (local.set $at
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $at) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1)))
              (i32.const -1))
          (then unreachable))))
    (local.get $at))

  ;; init: result<_, string>, here `ok`.
  (func (export "nearcache:backend/store@0.1.0#init") (param i32 i32) (result i32)
    (i32.store8 (global.get $ret) (i32.const 0))
    (global.get $ret))

  ;; get: option<value>, here `none`, after making a struct and an array
  ;; of 64 KiB per byte of the key.
  (func (export "nearcache:backend/store@0.1.0#get") (param $key i32) (param $len i32) (param $now i64) (result i32)
    (drop (struct.new $entry (local.get $len) (local.get $now)))
    (drop (array.new_default $bytes (i32.mul (local.get $len) (i32.const 65536))))
    (i32.store8 (global.get $ret) (i32.const 0))
    (global.get $ret))

  (func (export "nearcache:backend/store@0.1.0#put") (param i32 i32 i32 i32 i32 i64 i64))
  (func (export "nearcache:backend/store@0.1.0#put-with-ref") (param i32 i32 i32 i32 i32 i32 i32 i64 i64))
  (func (export "nearcache:backend/store@0.1.0#invalidate") (param i32 i32 i32))
  (func (export "nearcache:backend/store@0.1.0#invalidate-refs") (param i32 i32 i32))
  (func (export "nearcache:backend/store@0.1.0#flush"))

  ;; stats: an empty list.
  (func (export "nearcache:backend/store@0.1.0#stats") (result i32)
    (i32.store (global.get $ret) (i32.const 8))
    (i32.store offset=4 (global.get $ret) (i32.const 0))
    (global.get $ret))

  (func (export "nearcache:backend/store@0.1.0#sweep") (param i64 i32) (result i32) (i32.const 0))
  (func (export "nearcache:backend/store@0.1.0#destroy"))
)
