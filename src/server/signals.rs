//! SIGTERM / SIGINT, handled by us (actix's own handling is disabled) so readiness flips to 503
//! before the server stops accepting. Handlers are installed before the server says it is
//! listening, so a signal sent right after that line is never lost to the default action.

/// Installed signal handlers.
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers (must run inside the tokio/actix runtime).
    pub fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let term = signal(SignalKind::terminate()).ok();
            let int = signal(SignalKind::interrupt()).ok();
            if term.is_none() || int.is_none() {
                tracing::warn!("could not install a SIGTERM/SIGINT handler");
            }
            Signals { term, int }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Resolves at the next SIGTERM or SIGINT; returns the signal's name for the log.
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            let term = async {
                match &mut self.term {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match &mut self.int {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = term => "SIGTERM",
                _ = int => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "SIGINT",
                Err(_) => std::future::pending().await,
            }
        }
    }
}
