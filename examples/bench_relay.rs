//! The floor of `scripts/bench-sse-latency.py`: a bare TCP relay (one tokio thread, read → write,
//! TCP_NODELAY, nothing else) between the client and the provider. Any server that sits between
//! them pays at least this per token: one wake-up of its thread, one read, one write. The script
//! prints woodwork's added latency next to this relay's.
//!
//!     cargo run --release --example bench_relay -- 127.0.0.1:0 127.0.0.1:PROVIDER_PORT

use tokio::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let Some(upstream) = args.next() else {
        eprintln!("usage: bench_relay LISTEN_ADDR UPSTREAM_ADDR");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(listen.as_str()).await?;
        println!("listening on http://{}", listener.local_addr()?);
        loop {
            let (mut client, _) = listener.accept().await?;
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(upstream.as_str()).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    })
}
