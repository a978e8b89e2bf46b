//! The HTTP/1 server around the app: actix-server workers running actix-http's HTTP/1 service on
//! connections wrapped in [`JsonErrors`]. actix-web's `HttpServer` builds the same stack but hands
//! the service the bare socket, and then the answers actix-http gives by itself (a request it
//! cannot parse, a head too large or too slow) leave without the JSON body every other error has.

use crate::server::transport::{JsonErrors, HEAD_TIMEOUT};
use actix_http::{HttpService, KeepAlive, Request};
use actix_rt::net::TcpStream;
use actix_service::{
    fn_service, map_config, IntoServiceFactory, ServiceFactory, ServiceFactoryExt,
};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Response, Server};
use actix_web::Error;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::Duration;

/// Pending connections the kernel queues per listener (actix-web's default).
const BACKLOG: u32 = 1024;

/// How long a closing connection keeps reading (and discarding) what the client still sends, so
/// the client reads the answer instead of a reset (actix-web's default).
const LINGER: Duration = Duration::from_secs(1);

/// Opens a listener on every address `host` resolves to (as actix-web's `bind` does); fails only
/// when none could be opened. `SO_REUSEADDR` lets a restarted server take its port back at once.
pub fn bind(host: &str, port: u16) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let mut last_err = None;
    for addr in (host, port).to_socket_addrs()? {
        match listen(addr) {
            Ok(l) => listeners.push(l),
            Err(e) => last_err = Some(e),
        }
    }
    match (listeners.is_empty(), last_err) {
        (false, _) => Ok(listeners),
        (true, Some(e)) => Err(e),
        (true, None) => Err(std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            format!("`{host}` resolves to no address"),
        )),
    }
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)?.into_std()
}

/// How the server runs.
pub struct Settings {
    /// Worker threads; `None` = one per core.
    pub workers: Option<usize>,
    /// How long a graceful stop waits for open connections before dropping them.
    pub shutdown_timeout: Duration,
}

/// Starts serving `listeners` with one app per worker from `app`; signals are ours (not actix's).
pub fn serve<F, I, S, B>(
    listeners: Vec<TcpListener>,
    app: F,
    settings: Settings,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as actix_service::Service<Request>>::Future: 'static,
    B: MessageBody + 'static,
{
    let mut builder = Server::build()
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout.as_secs().max(1));
    if let Some(n) = settings.workers {
        builder = builder.workers(n.max(1));
    }
    // Tells each connection, at a graceful stop, to close once its current answer is written.
    let stopping = builder.graceful_shutdown_signal();
    for lst in listeners {
        let addr = lst.local_addr()?;
        let app = app.clone();
        let stopping = stopping.clone();
        builder = builder.listen(format!("woodwork-http-{addr}"), lst, move || {
            let stopping = stopping.clone();
            let app = app()
                .into_factory()
                .map_err(|err: S::Error| err.into().error_response());
            let http = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let stopping = stopping.clone();
                    async move { stopping.notified().await }
                })
                .keep_alive(KeepAlive::default())
                .client_request_timeout(HEAD_TIMEOUT)
                .client_disconnect_timeout(LINGER)
                // A client that closes its side is gone (DESIGN §4: a client that disconnects
                // cancels the model call): its running request is dropped, not finished for no
                // one. (A client that half-closes after sending gets no answer.)
                .h1_allow_half_closed(false)
                .local_addr(addr)
                .h1(map_config(app, |_| AppConfig::default()));
            fn_service(|io: TcpStream| {
                // Token chunks are small writes: with Nagle on, each waits for the previous ACK.
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                std::future::ready(Ok((JsonErrors::new(io), peer)))
            })
            .and_then(http)
        })?;
    }
    Ok(builder.run())
}
