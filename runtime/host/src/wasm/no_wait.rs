//! WASI's blocking calls, redefined so that none of them waits or enters a
//! tokio runtime.
//!
//! wasmtime-wasi implements the blocking calls of `wasi:io` (writing to a
//! stream and flushing it, reading, polling, and dropping a stream) by
//! running their async versions on a tokio runtime: the caller's, if the
//! calling thread is in one. The cache calls its backend from its async
//! tasks, so such a call would try to start a runtime inside a runtime,
//! which panics; and Rust's standard library makes these calls whenever a
//! guest prints, panics or fails to allocate. Besides, a guest must never
//! block the host thread (see `subscribe-*` in `linker`).
//!
//! Here each of them polls its async version once, on this thread: with the
//! guest's empty WASI context (streams that discard or are closed) every
//! one completes at once. A call that would have to wait traps instead,
//! naming the call.

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasmtime::component::{Linker, Resource, ResourceType};
use wasmtime::{StoreContextMut, format_err};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, StreamResult};
use wasmtime_wasi_io::bindings::wasi::io::poll::{Host as Poll_, HostPollable};
use wasmtime_wasi_io::bindings::wasi::io::streams::{Host as Streams, HostInputStream, HostOutputStream, StreamError};

use super::state::State;

/// The instances wasmtime-wasi defines these calls in.
const STREAMS: &str = "wasi:io/streams@0.2.12";
const POLL: &str = "wasi:io/poll@0.2.12";

/// Runs `future` if it completes without waiting; else traps, naming `call`.
fn now<F: Future>(call: &str, future: F) -> wasmtime::Result<F::Output> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(format_err!("a backend may not wait (it called {call}, which would have blocked)")),
    }
}

/// A stream call's result as the guest sees it: its errors become the WIT
/// `stream-error`, except a trap, which stays one.
type ToGuest<T> = wasmtime::Result<(Result<T, StreamError>,)>;

fn to_guest<T>(store: &mut StoreContextMut<'_, State>, result: StreamResult<T>) -> ToGuest<T> {
    match result {
        Ok(value) => Ok((Ok(value),)),
        Err(error) => Ok((Err(Streams::convert_stream_error(&mut store.data_mut().table, error)?),)),
    }
}

/// Redefines, in `linker`, every `wasi:io` call that wasmtime-wasi runs on
/// a tokio runtime. Call after wasmtime-wasi's definitions, with shadowing
/// allowed.
pub(crate) fn add_to_linker(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    let mut streams = linker.instance(STREAMS)?;
    streams.resource("output-stream", ResourceType::host::<DynOutputStream>(), |mut store, rep| {
        let table = &mut store.data_mut().table;
        now("[drop]output-stream", HostOutputStream::drop(table, Resource::new_own(rep)))?
    })?;
    streams.resource("input-stream", ResourceType::host::<DynInputStream>(), |mut store, rep| {
        let table = &mut store.data_mut().table;
        now("[drop]input-stream", HostInputStream::drop(table, Resource::new_own(rep)))?
    })?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-and-flush",
        |mut store, (stream, bytes): (Resource<DynOutputStream>, Vec<u8>)| -> ToGuest<()> {
            let table = &mut store.data_mut().table;
            let call = "wasi:io/streams.[method]output-stream.blocking-write-and-flush";
            let result = now(call, HostOutputStream::blocking_write_and_flush(table, stream, bytes))?;
            to_guest(&mut store, result)
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-zeroes-and-flush",
        |mut store, (stream, len): (Resource<DynOutputStream>, u64)| -> ToGuest<()> {
            let table = &mut store.data_mut().table;
            let call = "wasi:io/streams.[method]output-stream.blocking-write-zeroes-and-flush";
            let result = now(call, HostOutputStream::blocking_write_zeroes_and_flush(table, stream, len))?;
            to_guest(&mut store, result)
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-flush",
        |mut store, (stream,): (Resource<DynOutputStream>,)| -> ToGuest<()> {
            let table = &mut store.data_mut().table;
            let call = "wasi:io/streams.[method]output-stream.blocking-flush";
            let result = now(call, HostOutputStream::blocking_flush(table, stream))?;
            to_guest(&mut store, result)
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-splice",
        |mut store,
         (stream, source, len): (Resource<DynOutputStream>, Resource<DynInputStream>, u64)|
         -> ToGuest<u64> {
            let table = &mut store.data_mut().table;
            let call = "wasi:io/streams.[method]output-stream.blocking-splice";
            let result = now(call, HostOutputStream::blocking_splice(table, stream, source, len))?;
            to_guest(&mut store, result)
        },
    )?;
    streams.func_wrap(
        "[method]input-stream.blocking-read",
        |mut store, (stream, len): (Resource<DynInputStream>, u64)| -> ToGuest<Vec<u8>> {
            let table = &mut store.data_mut().table;
            let call = "wasi:io/streams.[method]input-stream.blocking-read";
            let result = now(call, HostInputStream::blocking_read(table, stream, len))?;
            to_guest(&mut store, result)
        },
    )?;
    streams.func_wrap(
        "[method]input-stream.blocking-skip",
        |mut store, (stream, len): (Resource<DynInputStream>, u64)| -> ToGuest<u64> {
            let table = &mut store.data_mut().table;
            let call = "wasi:io/streams.[method]input-stream.blocking-skip";
            let result = now(call, HostInputStream::blocking_skip(table, stream, len))?;
            to_guest(&mut store, result)
        },
    )?;

    let mut poll = linker.instance(POLL)?;
    poll.func_wrap("poll", |mut store: StoreContextMut<'_, State>, (pollables,): (Vec<Resource<DynPollable>>,)| {
        let table = &mut store.data_mut().table;
        Ok((now("wasi:io/poll.poll", Poll_::poll(table, pollables))??,))
    })?;
    poll.func_wrap(
        "[method]pollable.ready",
        |mut store: StoreContextMut<'_, State>, (pollable,): (Resource<DynPollable>,)| {
            let table = &mut store.data_mut().table;
            Ok((now("wasi:io/poll.[method]pollable.ready", HostPollable::ready(table, pollable))??,))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, State>, (pollable,): (Resource<DynPollable>,)| {
            let table = &mut store.data_mut().table;
            now("wasi:io/poll.[method]pollable.block", HostPollable::block(table, pollable))?
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_would_wait_traps_naming_it() {
        assert_eq!(now("ready", async { 7 }).unwrap(), 7);
        let error = now("wasi:io/poll.poll", std::future::pending::<()>()).unwrap_err();
        assert!(error.to_string().contains("may not wait (it called wasi:io/poll.poll"), "{error}");
    }
}
