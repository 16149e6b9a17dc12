//! The compiled-artifact cache: a known component loads without compiling,
//! a damaged artifact is compiled again, a directory others can write to is
//! refused, and a directory or artifact that is not this user's own, or
//! that is a symbolic link, is never deserialized: the component is
//! compiled from its bytes instead, and the reason is reported.

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

/// Changes the owner of `path` to `nobody`, or says why the test cannot:
/// only root may give a file away.
#[cfg(unix)]
fn give_to_nobody(path: &std::path::Path) -> Result<u32, String> {
    const NOBODY: u32 = 65534;
    std::os::unix::fs::chown(path, Some(NOBODY), None)
        .map(|()| NOBODY)
        .map_err(|e| format!("cannot chown {} to nobody ({e}); this test needs root", path.display()))
}

#[cfg(unix)]
fn file_names(dir: &std::path::Path) -> Vec<std::ffi::OsString> {
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    names
}

#[cfg(unix)]
#[test]
fn a_directory_another_user_owns_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("artifacts");
    let wasm = std::fs::read(guests::RUST_STORE).unwrap();
    let first = WasmFactory::load_bytes(&engine_with_cache(&artifacts), "rust-store", &wasm).unwrap();
    assert!(first.info().untrusted_artifact.is_none());
    let nobody = match give_to_nobody(&artifacts) {
        Ok(uid) => uid,
        Err(skip) => return eprintln!("skipped: {skip}"),
    };
    let before = file_names(&artifacts);

    // Opening it is not an error (only a directory others may write to
    // is), but nothing in it is loaded, and nothing is written to it.
    let engine = engine_with_cache(&artifacts);
    for _ in 0..2 {
        let factory = WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
        assert!(!factory.info().from_cache, "an artifact was loaded from a directory owned by uid {nobody}");
        let reason = factory.info().untrusted_artifact.clone().expect("the reason is reported");
        assert!(reason.contains(&format!("owned by uid {nobody}")), "{reason}");
        assert!(reason.contains(&artifacts.display().to_string()) && !reason.contains('\n'), "{reason}");
        serves(&factory);
    }
    assert_eq!(file_names(&artifacts), before, "the cache wrote into a directory it does not trust");
}

#[cfg(unix)]
#[test]
fn an_artifact_another_user_owns_is_not_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = std::fs::read(guests::RUST_STORE).unwrap();
    let engine = engine_with_cache(dir.path());
    WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
    let path = engine.artifact_cache().unwrap().path_for(engine.engine(), &wasm);
    let nobody = match give_to_nobody(&path) {
        Ok(uid) => uid,
        Err(skip) => return eprintln!("skipped: {skip}"),
    };

    let factory = WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
    assert!(!factory.info().from_cache, "an artifact owned by uid {nobody} was loaded");
    let reason = factory.info().untrusted_artifact.clone().expect("the reason is reported");
    assert!(
        reason.contains(&format!("owned by uid {nobody}")) && reason.contains(&path.display().to_string()),
        "{reason}"
    );
    serves(&factory);
    // The directory is trusted, so the artifact was replaced by this user's own.
    let again = WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
    assert!(again.info().from_cache && again.info().untrusted_artifact.is_none());
}

#[cfg(unix)]
#[test]
fn an_artifact_that_is_a_symlink_or_that_others_may_write_is_not_loaded() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let wasm = std::fs::read(guests::RUST_STORE).unwrap();
    let engine = engine_with_cache(&dir.path().join("artifacts"));
    WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
    let path = engine.artifact_cache().unwrap().path_for(engine.engine(), &wasm);

    // A link to a good artifact, this user's own: still not followed.
    let elsewhere = dir.path().join("elsewhere.cwasm");
    std::fs::rename(&path, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    let factory = WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
    assert!(!factory.info().from_cache);
    let reason = factory.info().untrusted_artifact.clone().unwrap_or_default();
    assert!(reason.contains("symbolic link"), "{reason}");
    assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink(), "the link was not replaced");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let factory = WasmFactory::load_bytes(&engine, "rust-store", &wasm).unwrap();
    assert!(!factory.info().from_cache);
    let reason = factory.info().untrusted_artifact.clone().unwrap_or_default();
    assert!(reason.contains("others may write to it (mode 666)"), "{reason}");
    serves(&factory);
}
