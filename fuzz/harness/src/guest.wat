;; A backend whose every answer is chosen by the fuzzer.
;;
;; Before each call, the harness stores a plan with a put whose ttl and now
;; are both MAGIC; the module copies that value to the mailbox. The next call
;; (and the allocations the host asks for to pass its arguments) then does
;; what the plan's header says, and the module goes back to answering
;; honestly. What the host reads (a return area, a list, a string) is at a
;; pointer the plan chooses, usually into the plan itself, so the bytes the
;; host lifts are fuzz input.
;;
;; Memory: [0, 1024) stays zero, which reads as none, ok, an empty list, 0;
;; [1024, 0x10000) is a bump heap for the host's arguments, reset on every
;; call; [0x10000, 0x20000) is the mailbox; [0x20000, 0x30000) is spare.
;;
;; Mailbox header: +0 u8 the call's op, +1 u8 the allocator's op, +4 u32 the
;; call's argument, +8 u32 the allocator's argument, +12 u32 pages to grow
;; the memory by before answering; the payload starts at +16.
;; Call ops: 0 honest (answer 0); 1 answer the argument; 2 answer the
;; mailbox's address plus the argument; 3 trap; 4 spin until out of fuel;
;; 5 answer the payload's address. Allocator ops: 0 honest; 1 the argument;
;; 2 the mailbox's address plus the argument; 3 trap.
(module
  (memory (export "memory") 3)
  (global $heap (mut i32) (i32.const 1024))
  (global $armed (mut i32) (i32.const 0))

  (func $honest_alloc (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (if (i32.or
          (i32.gt_u (local.get $p) (i32.const 0x10000))
          (i32.gt_u (local.get $size) (i32.sub (i32.const 0x10000) (local.get $p))))
      (then unreachable))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (local.get $p))

  (func (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $op i32)
    (if (global.get $armed)
      (then
        (local.set $op (i32.load8_u (i32.const 0x10001)))
        (if (i32.eq (local.get $op) (i32.const 1))
          (then (return (i32.load (i32.const 0x10008)))))
        (if (i32.eq (local.get $op) (i32.const 2))
          (then (return (i32.add (i32.const 0x10000) (i32.load (i32.const 0x10008))))))
        (if (i32.eq (local.get $op) (i32.const 3))
          (then unreachable))))
    (call $honest_alloc (local.get $align) (local.get $size)))

  ;; One call's answer, as the mailbox says; then honest again.
  (func $act (result i32)
    (local $op i32)
    (global.set $heap (i32.const 1024))
    (if (i32.eqz (global.get $armed))
      (then (return (i32.const 0))))
    (global.set $armed (i32.const 0))
    (if (i32.load (i32.const 0x1000c))
      (then (drop (memory.grow (i32.load (i32.const 0x1000c))))))
    (local.set $op (i32.load8_u (i32.const 0x10000)))
    (if (i32.eq (local.get $op) (i32.const 1))
      (then (return (i32.load (i32.const 0x10004)))))
    (if (i32.eq (local.get $op) (i32.const 2))
      (then (return (i32.add (i32.const 0x10000) (i32.load (i32.const 0x10004))))))
    (if (i32.eq (local.get $op) (i32.const 3))
      (then unreachable))
    (if (i32.eq (local.get $op) (i32.const 4))
      (then (loop $spin (br $spin))))
    (if (i32.eq (local.get $op) (i32.const 5))
      (then (return (i32.const 0x10010))))
    (i32.const 0))

  (func (export "nearcache:backend/store@0.1.0#init") (param i32 i32) (result i32)
    (call $act))

  (func (export "nearcache:backend/store@0.1.0#get") (param i32 i32 i64) (result i32)
    (call $act))

  (func (export "nearcache:backend/store@0.1.0#put")
    (param $key i32) (param $key_len i32) (param $value i32) (param $value_len i32)
    (param $has_ttl i32) (param $ttl i64) (param $now i64)
    (if (i32.and
          (i32.and (local.get $has_ttl) (i64.eq (local.get $ttl) (i64.const 0x6e6561726361636b)))
          (i64.eq (local.get $now) (i64.const 0x6e6561726361636b)))
      (then
        (memory.fill (i32.const 0x10000) (i32.const 0) (i32.const 0x10000))
        (memory.copy (i32.const 0x10000) (local.get $value)
          (select (local.get $value_len) (i32.const 0x10000)
            (i32.lt_u (local.get $value_len) (i32.const 0x10000))))
        (global.set $heap (i32.const 1024))
        (global.set $armed (i32.const 1))
        (return)))
    (drop (call $act)))

  (func (export "nearcache:backend/store@0.1.0#put-with-ref")
    (param i32 i32 i32 i32 i32 i32 i32 i64 i64)
    (drop (call $act)))

  (func (export "nearcache:backend/store@0.1.0#invalidate") (param i32 i32 i32)
    (drop (call $act)))

  (func (export "nearcache:backend/store@0.1.0#invalidate-refs") (param i32 i32 i32)
    (drop (call $act)))

  (func (export "nearcache:backend/store@0.1.0#flush")
    (drop (call $act)))

  (func (export "nearcache:backend/store@0.1.0#stats") (result i32)
    (call $act))

  (func (export "nearcache:backend/store@0.1.0#sweep") (param i64 i32) (result i32)
    (call $act))

  (func (export "nearcache:backend/store@0.1.0#destroy")
    (drop (call $act))))
