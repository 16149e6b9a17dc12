//! Writes the seed corpus into `fuzz/corpus/<target>/`, replacing the files
//! of the same names.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    for (target, name, bytes) in nearcache_fuzz_harness::seeds::all() {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(&name), bytes)?;
    }
    println!("wrote the seed corpus into {}", corpus.display());
    Ok(())
}
