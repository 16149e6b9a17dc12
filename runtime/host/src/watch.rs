//! Reloading the backend when its component file changes.
//!
//! [`Cache::watch_backend`] watches the file's directory (editors and `cp`
//! often replace a file rather than write it in place), waits until the
//! file has been quiet for a debounce interval, and reloads from the bytes
//! it then holds, unless they are the bytes of the last attempt (a touch,
//! or a write of the same content, is not a change). A half-written or truncated file fails to load, so the
//! reload is refused and the old backend keeps serving; the next write
//! triggers another attempt. Each outcome is logged and handed to the
//! [`BackendWatch`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cache::{Cache, Inner};
use crate::error::Error;
use crate::reload::{BackendSource, Reloaded};

/// A running watch of a backend file. Dropping it stops the watch.
pub struct BackendWatch {
    path: PathBuf,
    task: JoinHandle<()>,
    outcomes: mpsc::UnboundedReceiver<Result<Reloaded, Error>>,
    _watcher: RecommendedWatcher,
}

impl BackendWatch {
    /// The watched file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The outcome of the next reload the watch attempts; `None` once the
    /// cache is gone.
    pub async fn next_outcome(&mut self) -> Option<Result<Reloaded, Error>> {
        self.outcomes.recv().await
    }
}

impl Drop for BackendWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Cache {
    /// Reloads the backend from the component at `path`, `init`ed with
    /// `options`, each time the file changes and then stays unchanged for
    /// `debounce`. A file that does not load (half written, truncated, not
    /// a backend) leaves the serving backend in place; the error is logged
    /// and returned by [`BackendWatch::next_outcome`].
    pub fn watch_backend(
        &self,
        path: impl Into<PathBuf>,
        options: Vec<(String, String)>,
        debounce: Duration,
    ) -> Result<BackendWatch, Error> {
        let path = path.into();
        let fail = |reason: String| Error::Watch { path: path.clone(), reason };
        let name =
            path.file_stem().map(|s| s.to_string_lossy().into_owned()).ok_or_else(|| fail("not a file".into()))?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let (changes_tx, changes) = mpsc::unbounded_channel();
        let file_name = path.file_name().map(ToOwned::to_owned);
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let touches_file = match &event {
                // Reading the file (ours included) is no change.
                Ok(event) if event.kind.is_access() => false,
                Ok(event) => event.paths.iter().any(|p| p.file_name() == file_name.as_deref()),
                // An error from the watcher: look at the file again.
                Err(_) => true,
            };
            if touches_file {
                let _ = changes_tx.send(());
            }
        })
        .map_err(|e| fail(e.to_string()))?;
        watcher.watch(&dir, RecursiveMode::NonRecursive).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
        let watched = Watched { inner: Arc::downgrade(&self.inner), path: path.clone(), name, options, debounce };
        let task = tokio::spawn(watched.run(changes, outcomes_tx));
        tracing::info!(path = %path.display(), "watching the backend file");
        Ok(BackendWatch { path, task, outcomes, _watcher: watcher })
    }
}

/// What the watch task needs.
struct Watched {
    inner: Weak<Inner>,
    path: PathBuf,
    name: String,
    options: Vec<(String, String)>,
    debounce: Duration,
}

impl Watched {
    async fn run(
        self,
        mut changes: mpsc::UnboundedReceiver<()>,
        outcomes: mpsc::UnboundedSender<Result<Reloaded, Error>>,
    ) {
        let mut last_attempt: Option<Vec<u8>> = None;
        while changes.recv().await.is_some() {
            // Debounce: wait until the file has been quiet for a while.
            loop {
                match tokio::time::timeout(self.debounce, changes.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_quiet) => break,
                }
            }
            let path = self.path.clone();
            let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
            let bytes = match read.unwrap_or_else(|error| Err(std::io::Error::other(error))) {
                Ok(bytes) => bytes,
                Err(error) => {
                    // Removed or being replaced: the next event tells.
                    tracing::debug!(path = %self.path.display(), "backend file unreadable: {error}");
                    continue;
                }
            };
            // Touched but not changed since the last attempt: nothing to do.
            if last_attempt.as_deref() == Some(bytes.as_slice()) {
                continue;
            }
            last_attempt = Some(bytes.clone());
            let Some(inner) = self.inner.upgrade() else { return };
            tracing::info!(path = %self.path.display(), "backend file changed; reloading");
            let source = BackendSource::WasmBytes { name: self.name.clone(), bytes };
            let outcome = Inner::reload(&inner, source, self.options.clone()).await;
            drop(inner);
            let _ = outcomes.send(outcome);
        }
    }
}
