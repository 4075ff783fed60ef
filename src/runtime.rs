//! The tokio runtime the command line runs the library's futures on: one current thread, one
//! future at a time.

/// A current-thread tokio runtime (the CLI runs one future at a time).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime can always be built")
}

/// Runs `fut` to completion on a fresh runtime and then drops the runtime without waiting for
/// its blocking threads: a resolver call (`getaddrinfo`) that never returns must not hold the
/// process past `--timeout` (the future itself is bounded; only the abandoned thread is left).
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let rt = runtime();
    let out = rt.block_on(fut);
    rt.shutdown_background();
    out
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM: how long-running commands (`lab`, `csr approver`)
/// are stopped.
#[cfg(any(feature = "lab", feature = "approver"))]
pub(crate) async fn terminated() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminated => {},
    }
}
