//! The compiled-artifact cache: a known component loads without compiling,
//! a damaged artifact is compiled again, and a directory others can write
//! to is refused.

use nearcache::Backend;
use nearcache::wasm::{ArtifactCache, Limits, LoadError, WasmEngine, WasmFactory};
use nearcache_tests::guests;

fn engine_with_cache(dir: &std::path::Path) -> WasmEngine {
    WasmEngine::new(Limits::default()).expect("engine").with_artifact_cache(ArtifactCache::open(dir).expect("cache"))
}

fn serves(factory: &WasmFactory) {
    let mut backend = factory.check_init(&[("max-entries".to_owned(), "10".to_owned())]).expect("init");
    backend.put(b"k", b"v", None, 0).unwrap();
    assert_eq!(backend.get(b"k", 0).unwrap(), Some(b"v".to_vec()));
}

#[test]
fn second_load_comes_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = std::fs::read(guests::RUST_STORE).unwrap();
    let engine = engine_with_cache(&dir.path().join("artifacts"));
    let first = WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
    assert!(!first.info().from_cache);
    let path = engine.artifact_cache().unwrap().path_for(engine.engine(), &wasm);
    assert!(path.is_file(), "no artifact written at {}", path.display());

    // A new engine of the same configuration, as after a restart.
    let engine = engine_with_cache(&dir.path().join("artifacts"));
    let second = WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
    assert!(second.info().from_cache);
    serves(&second);

    // Other bytes, another key.
    let other = std::fs::read(guests::HOSTILE_LOOP_IN_GET).unwrap();
    assert_ne!(engine.artifact_cache().unwrap().path_for(engine.engine(), &other), path);
}

#[test]
fn damaged_artifact_is_compiled_again() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = std::fs::read(guests::RUST_STORE).unwrap();
    let engine = engine_with_cache(&dir.path().join("artifacts"));
    WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
    let path = engine.artifact_cache().unwrap().path_for(engine.engine(), &wasm);
    std::fs::write(&path, b"not an artifact").unwrap();

    let factory = WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
    assert!(!factory.info().from_cache);
    serves(&factory);
    // And the good artifact is back.
    assert!(WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap().info().from_cache);
}

#[cfg(unix)]
#[test]
fn shared_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let error = ArtifactCache::open(&shared).unwrap_err();
    assert!(matches!(error, LoadError::ArtifactCache { .. }));
    assert!(error.to_string().contains("others may write"), "{error}");
}

#[test]
fn backend_from_cached_artifact_passes_a_smoke_check() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_cache(dir.path());
    WasmFactory::load_file(&engine, guests::RUST_STORE).unwrap();
    let factory = WasmFactory::load_file(&engine, guests::RUST_STORE).unwrap();
    assert!(factory.info().from_cache);
    let mut backend = factory.instantiate().unwrap();
    backend.init(&[("max-entries".to_owned(), "10".to_owned())]).unwrap();
    backend.put_with_ref(b"k", b"r", b"v", None, 0).unwrap();
    backend.invalidate_refs(Some(&[b"r".to_vec()])).unwrap();
    assert_eq!(backend.get(b"k", 0).unwrap(), None);
}
