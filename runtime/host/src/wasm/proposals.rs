//! Which WebAssembly proposals a backend may use: those the supported guest
//! languages' toolchains emit (measured on the guests in `guests/`, see
//! DESIGN.md), and nothing else. Every other proposal is turned off in the
//! engine's `Config`, so less of wasmtime is reachable from a guest, and a
//! component that uses one is refused at load by an error that names it.

use wasmtime::Config;
use wasmtime::wasmparser::{Validator, WasmFeatures};

use super::load_error::LoadError;

/// A wasm feature flag of wasmparser (a proposal, or part of one), the name
/// an error gives it, and whether backends may use it.
pub(crate) struct Proposal {
    pub flags: WasmFeatures,
    pub name: &'static str,
    pub enabled: bool,
}

const fn on(flags: WasmFeatures, name: &'static str) -> Proposal {
    Proposal { flags, name, enabled: true }
}

const fn off(flags: WasmFeatures, name: &'static str) -> Proposal {
    Proposal { flags, name, enabled: false }
}

/// Every flag wasmparser knows, each on or off. A test checks that none is
/// missing, so a wasmtime upgrade that brings a new proposal needs a
/// decision here rather than wasmtime's default.
pub(crate) const PROPOSALS: &[Proposal] = &[
    // WebAssembly 1.0 and 2.0, as the guests use them.
    on(WasmFeatures::FLOATS, "floating-point"),
    on(WasmFeatures::MUTABLE_GLOBAL, "mutable-global"),
    on(WasmFeatures::SATURATING_FLOAT_TO_INT, "non-trapping float-to-int"),
    on(WasmFeatures::SIGN_EXTENSION, "sign-extension"),
    // Each with its subset flag: `call_indirect`'s table-index encoding,
    // and `memory.copy` and `memory.fill`.
    on(WasmFeatures::REFERENCE_TYPES, "reference-types"),
    on(WasmFeatures::BULK_MEMORY, "bulk-memory"),
    off(WasmFeatures::MULTI_VALUE, "multi-value"),
    off(WasmFeatures::SIMD, "SIMD"),
    // WebAssembly 3.0.
    on(WasmFeatures::EXTENDED_CONST, "extended-const"),
    off(WasmFeatures::GC, "GC"),
    off(WasmFeatures::GC_TYPES, "GC (reference types of the collector)"),
    off(WasmFeatures::FUNCTION_REFERENCES, "function-references"),
    off(WasmFeatures::TAIL_CALL, "tail-call"),
    off(WasmFeatures::EXCEPTIONS, "exception-handling"),
    off(WasmFeatures::LEGACY_EXCEPTIONS, "legacy exception-handling"),
    off(WasmFeatures::MEMORY64, "memory64"),
    off(WasmFeatures::MULTI_MEMORY, "multi-memory"),
    off(WasmFeatures::RELAXED_SIMD, "relaxed-SIMD"),
    off(WasmFeatures::THREADS, "threads (shared memory and atomics)"),
    // Proposals not in a standard yet.
    off(WasmFeatures::SHARED_EVERYTHING_THREADS, "shared-everything-threads"),
    off(WasmFeatures::STACK_SWITCHING, "stack-switching"),
    off(WasmFeatures::WIDE_ARITHMETIC, "wide-arithmetic"),
    off(WasmFeatures::CUSTOM_PAGE_SIZES, "custom-page-sizes"),
    off(WasmFeatures::MEMORY_CONTROL, "memory-control"),
    off(WasmFeatures::CUSTOM_DESCRIPTORS, "custom-descriptors"),
    off(WasmFeatures::COMPACT_IMPORTS, "compact-imports"),
    // The component model, without its async, threading and newer parts.
    on(WasmFeatures::COMPONENT_MODEL, "component-model"),
    off(WasmFeatures::CM_ASYNC, "component-model async"),
    off(WasmFeatures::CM_ASYNC_STACKFUL, "component-model async (stackful)"),
    off(WasmFeatures::CM_MORE_ASYNC_BUILTINS, "component-model async (more built-ins)"),
    off(WasmFeatures::CM_THREADING, "component-model threading"),
    off(WasmFeatures::CM_ERROR_CONTEXT, "component-model error-context"),
    off(WasmFeatures::CM_VALUES, "component-model value imports"),
    off(WasmFeatures::CM_NESTED_NAMES, "component-model nested names"),
    off(WasmFeatures::CM_FIXED_LENGTH_LISTS, "component-model fixed-length lists"),
    off(WasmFeatures::CM_GC, "component-model GC"),
    off(WasmFeatures::CM_MAP, "component-model map"),
    off(WasmFeatures::CM64, "component-model memory64"),
    off(WasmFeatures::CM_IMPLEMENTS, "component-model implements"),
    off(WasmFeatures::CM_CANON_NAMES, "component-model canonical names"),
];

/// The flags backends may use.
pub(crate) fn enabled() -> WasmFeatures {
    PROPOSALS.iter().filter(|p| p.enabled).fold(WasmFeatures::empty(), |all, p| all | p.flags)
}

/// Sets every flag in `config`, on or off as [`PROPOSALS`] says, so the
/// engine's features are exactly [`enabled`] whatever wasmtime's defaults.
pub(crate) fn configure(config: &mut Config) {
    let enabled = enabled();
    config.wasm_features(WasmFeatures::all().difference(enabled), false);
    config.wasm_features(enabled, true);
}

/// Why wasmtime could not compile `wasm`, if the cause is a proposal that
/// is turned off: validates it again with the engine's features, which,
/// unlike wasmtime's error, names the missing one. Only called when
/// compiling failed, so a valid component is validated once.
pub(crate) fn refusal(wasm: &[u8]) -> Option<LoadError> {
    let error = Validator::new_with_features(enabled()).validate_all(wasm).err()?;
    let missing = error.missing_wasm_feature()?;
    let proposal = PROPOSALS.iter().find(|p| !p.enabled && p.flags.intersects(missing))?;
    let reason = error.message().split_whitespace().collect::<Vec<_>>().join(" ");
    Some(LoadError::DisabledProposal { proposal: proposal.name, reason, offset: error.offset() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_is_decided_once() {
        let mut seen = WasmFeatures::empty();
        for proposal in PROPOSALS {
            assert!(!seen.intersects(proposal.flags), "{} is listed twice", proposal.name);
            seen |= proposal.flags;
        }
        let undecided = WasmFeatures::all().difference(seen);
        assert!(undecided.is_empty(), "no decision for {undecided:?}: add it to PROPOSALS");
    }

    #[test]
    fn an_engine_takes_the_set() {
        let mut config = Config::new();
        configure(&mut config);
        wasmtime::Engine::new(&config).expect("wasmtime accepts the set");
    }

    #[test]
    fn a_disabled_proposal_is_named() {
        // `(module (func (result v128) v128.const i64x2 0 0))`, encoded.
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend_from_slice(&[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b]); // type: [] -> [v128]
        module.extend_from_slice(&[0x03, 0x02, 0x01, 0x00]); // function 0 has type 0
        module.extend_from_slice(&[0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c]); // code: v128.const
        module.extend_from_slice(&[0; 16]);
        module.push(0x0b); // end
        let refusal = refusal(&module).expect("refused");
        assert!(matches!(refusal, LoadError::DisabledProposal { proposal: "SIMD", .. }), "{refusal}");
    }
}
