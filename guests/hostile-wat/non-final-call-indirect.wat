;; A hostile guest (GHSA-rc4p-x33f-vpr2). Its `get` makes an indirect call
;; through a table entry of another type, where the type it calls through is
;; declared non-final: `(sub (func ...))`. Checking such a call needs a
;; subtype test at run time; wasmtime 48.0.8 built without its `gc` feature
;; (as nearcache builds it) reached `unreachable!()` there and aborted the
;; host process.
;;
;; Non-final types belong to the GC proposal, which the host turns off: the
;; host must refuse this component at load, naming the proposal.
;;
;; The rest is the least a backend needs: `init` accepts any options, `get`
;; misses, everything else does nothing. Written in WebAssembly text because
;; no compiler for a backend language emits non-final function types; the
;; build wraps it into a component of the `nearcache:backend/backend` world.
(module
  ;; The type of the table's only entry, and the unrelated non-final type
  ;; `get` calls it through.
  (type $entry (func (result i32)))
  (type $open (sub (func (result i32))))

  (table 1 1 funcref)
  (elem (i32.const 0) func $seven)
  (func $seven (type $entry) (i32.const 7))

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

  ;; get: option<value>, here `none`, after the indirect call.
  (func (export "nearcache:backend/store@0.1.0#get") (param i32 i32 i64) (result i32)
    (drop (call_indirect (type $open) (i32.const 0)))
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
