//! SIGTERM and SIGINT as a request to stop after the current step (a preempted job gets SIGTERM first),
//! through `signal-hook`'s safe flag registration.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Whether a stop signal arrived. The first SIGTERM or SIGINT sets the flag; a second one ends the process
/// at once with exit code 130, for a user whose Ctrl-C seems ignored.
#[derive(Debug, Clone)]
pub struct Preemption {
    requested: Arc<AtomicBool>,
}

impl Preemption {
    /// Installs the handlers.
    ///
    /// # Errors
    /// The OS error when a handler cannot be installed.
    pub fn install() -> std::io::Result<Preemption> {
        let requested = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            // Registered first, so it sees the flag as it was before this signal set it.
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&requested))?;
            signal_hook::flag::register(signal, Arc::clone(&requested))?;
        }
        Ok(Preemption { requested })
    }

    /// Whether a stop was requested.
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::Relaxed)
    }
}
