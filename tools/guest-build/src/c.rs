//! The C guest: bindings from wit-bindgen's C generator (`backend.h`,
//! `backend.c`, and `backend_component_type.o`, which carries the world's
//! type into the core module), a core module from clang and wasi-libc, and a
//! component from wit-component with the WASI
//! preview1 reactor adapter (used only if the module imports preview1; a
//! store that does no I/O imports nothing, and the adapter is left out).

use std::path::{Path, PathBuf};
use std::process::Command;

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::ComponentEncoder;
use wit_parser::{Resolve, WorldId};

use crate::command;
use crate::error::BuildError;
use crate::toolchain::Tool;

/// The compiler flags, also part of the build stamp.
pub(crate) const CFLAGS: &[&str] = &[
    "--target=wasm32-wasi",
    "-mexec-model=reactor",
    "-O2",
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wl,--strip-debug",
];

/// Where the generated bindings go: beside the output, never in the sources.
pub(crate) fn generated_dir(out: &Path) -> PathBuf {
    out.with_extension("bindings")
}

fn wit_error(guest: &'static str, step: &'static str) -> impl Fn(anyhow::Error) -> BuildError {
    move |error| BuildError::Component { guest, step, message: format!("{error:#}") }
}

pub(crate) fn load_world(guest: &'static str, wit: &Path) -> Result<(Resolve, WorldId), BuildError> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_path(wit).map_err(wit_error(guest, "read the WIT"))?;
    let world = resolve.select_world(&[package], Some("backend")).map_err(wit_error(guest, "read the WIT"))?;
    Ok((resolve, world))
}

/// Writes `backend.h`, `backend.c` and `backend_component_type.o` into `dir`.
fn generate_bindings(guest: &'static str, resolve: &mut Resolve, world: WorldId, dir: &Path) -> Result<(), BuildError> {
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(resolve, world, &mut files)
        .map_err(wit_error(guest, "generate C bindings"))?;
    std::fs::create_dir_all(dir).map_err(|source| BuildError::Io {
        guest,
        action: "create",
        path: dir.to_owned(),
        source,
    })?;
    for (name, bytes) in files.iter() {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|source| BuildError::Io { guest, action: "write", path, source })?;
    }
    Ok(())
}

/// Builds `sources` into the component `partial`; the bindings and the
/// core module go beside `out`, the component's final name.
pub(crate) fn build(
    guest: &'static str,
    tool: &Tool,
    wit: &Path,
    sources: &[PathBuf],
    out: &Path,
    partial: &Path,
) -> Result<(), BuildError> {
    let (mut resolve, world) = load_world(guest, wit)?;
    let generated = generated_dir(out);
    generate_bindings(guest, &mut resolve, world, &generated)?;

    let core = out.with_extension("core.wasm");
    let mut compile: Command = tool.command();
    compile.args(CFLAGS).arg("-I").arg(&generated).arg("-o").arg(&core).args(sources);
    compile.arg(generated.join("backend.c")).arg(generated.join("backend_component_type.o"));
    command::run(guest, compile)?;

    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| BuildError::Io { guest, action: "read", path: path.to_owned(), source })
    };
    let module = read(&core)?;
    let make = wit_error(guest, "make the component");
    let component = ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| {
            encoder.adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
        })
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(&make)?;
    std::fs::write(partial, component).map_err(|source| BuildError::Io {
        guest,
        action: "write",
        path: partial.to_owned(),
        source,
    })
}
