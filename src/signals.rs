//! How a capture is ended from outside: the first SIGINT, SIGTERM or SIGHUP asks the front end
//! (timeline or headless) to stop its capture; a second one acts at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The first SIGINT, SIGTERM or SIGHUP ends the capture (each caller restores what it must);
/// a second one acts at once, the default way, should the way out be stuck.
pub struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    second_acts: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers; call inside a tokio runtime.
    pub fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        let second_acts = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
            signal_hook::flag::register_conditional_default(sig, second_acts.clone())?;
        }
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            second_acts,
        })
    }

    /// The first signal; from then on the next one ends the process.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
        self.second_acts.store(true, Ordering::SeqCst);
    }

    /// A signal from now on ends the process the default way (the view has let go of the
    /// terminal, or is about to).
    pub fn arm(&self) {
        self.second_acts.store(true, Ordering::SeqCst);
    }
}
