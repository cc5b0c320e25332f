//! Ending quietly when the reader of standard output goes away (`mhe bench | head`).
//!
//! Rust starts programs with SIGPIPE ignored, so a write to a closed pipe returns an error and
//! `println!` panics on it. Restoring the signal's default action ends the process the way other
//! Unix tools end: by the signal, without a message.

#[cfg(unix)]
unsafe extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
}

/// Restores SIGPIPE's default action (Unix; elsewhere nothing). Call it first thing in `main`.
pub fn end_on_closed_pipe() {
    #[cfg(unix)]
    {
        const SIGPIPE: i32 = 13;
        const SIG_DFL: usize = 0;
        // SAFETY: `signal` with the default action has no preconditions; it runs before any
        // other thread starts.
        unsafe {
            signal(SIGPIPE, SIG_DFL);
        }
    }
}
