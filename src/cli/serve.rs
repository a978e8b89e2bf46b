//! `woodwork-actors serve main.ww`: check the file (exactly as `check`), start the actor tree,
//! serve HTTP until SIGTERM/SIGINT, drain, stop.

use crate::logging::{self, LogFormat};
use crate::server::state::Limits;
use crate::server::{self, ServeOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use woodwork_parser::{check_file, CheckOptions};
use woodwork_runtime::RuntimeOptions;

/// Options of `serve`. (`Debug` is written by hand: it must not print the auth token.)
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The .ww file to run.
    pub file: PathBuf,
    /// Address to listen on (loopback by default; use 0.0.0.0 to accept remote clients).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one (printed as `listening on http://HOST:PORT`).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Log lines as human-readable text or JSON (one object per line), on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Seconds in-flight requests may take to finish after SIGTERM/SIGINT.
    #[arg(long, default_value_t = 25, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_timeout: u64,
    /// Seconds the listener stays open after SIGTERM/SIGINT with /readyz answering 503 (new input
    /// gets 503 too), so load balancers take the instance out before connections are refused.
    #[arg(long, default_value_t = 1, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(0..=600))]
    pub shutdown_grace: u64,
    /// Largest request body (bytes; suffixes KiB, MiB, KB, MB accepted).
    #[arg(long, default_value = "1MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_body: usize,
    /// Seconds a client may take to send a request body; a stalled upload is answered 408.
    #[arg(long, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,
    /// Bearer token required on every endpoint except /livez and /readyz (prefer the env var:
    /// command lines are visible to other users).
    #[arg(long, env = "WOODWORK_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// Deadline of one input when the request names none (`deadline_ms` can ask for less or
    /// more, up to --max-request-timeout).
    #[arg(long, default_value_t = 60, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub request_timeout: u64,
    /// Largest deadline a request may ask for.
    #[arg(long, default_value_t = 600, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub max_request_timeout: u64,
    /// HTTP worker threads (default: one per core; 1-256).
    #[arg(long, value_parser = count_in(1, 256))]
    pub workers: Option<usize>,
    /// Capacity of each component's mailbox (a full mailbox makes senders wait, then 503).
    #[arg(long, value_parser = count_in(1, 1_000_000))]
    pub mailbox_capacity: Option<usize>,
    /// Most sessions kept at once (a new one evicts the least recently active idle session; 503
    /// only when every session is busy).
    #[arg(long, value_parser = count_in(1, 10_000_000))]
    pub max_sessions: Option<usize>,
    /// Idle seconds after which a session is evicted.
    #[arg(long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=30 * 86_400))]
    pub session_ttl: Option<u64>,
    /// Conversation memory all sessions keep together (suffixes KiB, MiB, GiB, KB, MB, GB): past
    /// it the least recently active idle sessions holding memory are evicted.
    #[arg(long, default_value = "256MiB", value_parser = parse_budget, value_name = "SIZE")]
    pub session_memory: usize,
    /// Most dead letters kept (the oldest are dropped first).
    #[arg(long, value_parser = count_in(1, 1_000_000))]
    pub dlq_capacity: Option<usize>,
    /// Most bytes of dead letters kept, payloads and messages (suffixes KiB, MiB, KB, MB; the
    /// oldest are dropped first): large payloads fill memory long before the count is reached.
    #[arg(long, default_value = "64MiB", value_parser = parse_size, value_name = "SIZE")]
    pub dlq_max_bytes: usize,
    /// Seconds of events kept for SSE resumption: a client reconnecting with `Last-Event-ID`
    /// within it gets the frames it missed (`/events`, and a dropped turn stream through it).
    #[arg(long, default_value_t = 60, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sse_replay_window: u64,
    /// Most bytes of events kept for SSE resumption (suffixes KiB, MiB, KB, MB; the oldest go
    /// first).
    #[arg(long, default_value = "8MiB", value_parser = parse_size, value_name = "SIZE")]
    pub sse_replay_bytes: usize,
    /// Most concurrent `GET /events` subscribers; more are answered 503 with Retry-After.
    #[arg(long, default_value_t = 64, value_parser = count_in(1, 10_000))]
    pub events_max_subscribers: usize,
    /// An origin (scheme://host[:port], or `*`) whose browser pages may call this server: its
    /// requests get CORS headers and its preflights are answered. Repeatable; none by default.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// Watch the .ww (and the prompt, script and documentation files it names): an edit is
    /// checked and applied without a restart; a file with errors is reported and the running
    /// config keeps serving.
    #[arg(long)]
    pub watch: bool,
    /// Join a cluster through this broker (`redis://host:6379[/db]`, `nats://host:4222`;
    /// `memory`: one process, the default). The file's `deployment = local { message_bus = … }`
    /// names it when this is not given.
    #[arg(long, env = "WOODWORK_BUS", hide_env_values = true, value_name = "URL")]
    pub bus: Option<String>,
    /// Keeps several systems apart on one broker (default: the file's name).
    #[arg(long)]
    pub namespace: Option<String>,
    /// This process's name in the cluster (default: host name + pid). A node restarted under the
    /// same name first finishes the work it held.
    #[arg(long)]
    pub node: Option<String>,
    /// The components this node hosts, comma-separated (default: all). Several nodes may host the
    /// same component: its work is shared.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub components: Option<Vec<String>>,
    /// Host the components of the file's `NAME = vm server { components: [...] }`.
    #[arg(long, value_name = "NAME")]
    pub vm: Option<String>,
}

impl std::fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeArgs")
            .field("file", &self.file)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("log_format", &self.log_format)
            .field("drain_timeout", &self.drain_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("max_body", &self.max_body)
            .field("body_timeout", &self.body_timeout)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "***"))
            .field("request_timeout", &self.request_timeout)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

/// A clap parser for a count within `min..=max` (keeps absurd values from reaching allocations).
fn count_in(min: usize, max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |s: &str| {
        let n: usize = s
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not a whole number"))?;
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(format!("{n} is not in {min}..={max}"))
        }
    }
}

/// Parses `1048576`, `1MiB`, `512KiB`, `2MB`, `64kb`.
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size: use bytes or a number with KiB/MiB/KB/MB"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1024,
        "mib" | "m" => 1024 * 1024,
        "kb" => 1000,
        "mb" => 1000 * 1000,
        _ => {
            return Err(format!(
                "unknown size unit in '{s}': use KiB, MiB, KB or MB"
            ))
        }
    };
    n.checked_mul(mult)
        .filter(|v| *v > 0 && *v <= 1 << 30)
        .ok_or_else(|| format!("'{s}' is out of range (1 byte to 1GiB)"))
}

/// Parses a size like [`parse_size`], plus whole GiB/GB up to 1 TiB: a large server keeps more
/// than 1 GiB of conversations.
fn parse_budget(s: &str) -> Result<usize, String> {
    let lower = s.trim().to_ascii_lowercase();
    for (unit, mult) in [("gib", 1usize << 30), ("gb", 1_000_000_000), ("g", 1 << 30)] {
        if let Some(num) = lower.strip_suffix(unit) {
            let n: usize = num
                .trim()
                .parse()
                .map_err(|_| format!("'{s}' is not a size: use a number with GiB, MiB or KiB"))?;
            return n
                .checked_mul(mult)
                .filter(|v| *v > 0 && *v <= 1 << 40)
                .ok_or_else(|| format!("'{s}' is out of range (1 byte to 1TiB)"));
        }
    }
    parse_size(s)
}

fn runtime_options(args: &ServeArgs) -> RuntimeOptions {
    let mut o = RuntimeOptions::default();
    if let Some(n) = args.mailbox_capacity {
        o.mailbox_capacity = n.max(1);
    }
    if let Some(n) = args.max_sessions {
        o.max_sessions = n.max(1);
    }
    if let Some(s) = args.session_ttl {
        o.session_ttl = Duration::from_secs(s.max(1));
    }
    o.session_memory_budget = args.session_memory;
    if let Some(n) = args.dlq_capacity {
        o.dlq_capacity = n.max(1);
    }
    o.dlq_max_bytes = args.dlq_max_bytes;
    o.default_deadline = Duration::from_secs(args.request_timeout.max(1));
    o
}

/// The variable `--auth-token` is read from.
const AUTH_ENV: &str = "WOODWORK_AUTH_TOKEN";

/// Why `serve` refuses to start with the auth token it was given: each would leave the server
/// open or locked for good while the operator believes otherwise.
#[derive(Debug, thiserror::Error)]
enum AuthTokenError {
    #[error("the auth token (--auth-token / {AUTH_ENV}) is empty or blank, which would leave every endpoint open; give a real token, or unset {AUTH_ENV} and drop --auth-token to serve without auth")]
    Blank,
    #[error("the auth token (--auth-token / {AUTH_ENV}) contains a control character, which no HTTP client can send in a header; use printable characters only")]
    ControlCharacter,
}

/// The token to require: trimmed of surrounding whitespace (a secret file written with `echo`
/// ends in a newline, and clients send the token without it), refused when nothing is left or it
/// could never be sent. `env_set`: the variable exists (clap reads an empty one as absent).
fn auth_token(given: Option<String>, env_set: bool) -> Result<Option<String>, AuthTokenError> {
    let Some(raw) = given else {
        return if env_set {
            Err(AuthTokenError::Blank)
        } else {
            Ok(None)
        };
    };
    let token = raw.trim();
    if token.is_empty() {
        return Err(AuthTokenError::Blank);
    }
    if token.chars().any(char::is_control) {
        return Err(AuthTokenError::ControlCharacter);
    }
    if token.len() != raw.len() {
        tracing::warn!(
            "the auth token had whitespace around it (a trailing newline from a secret file?); it was trimmed, clients must send it without"
        );
    }
    Ok(Some(token.to_string()))
}

/// Runs `serve`; exit 0 after a graceful stop, 1 on a bad file or a failure to start.
pub fn run(mut args: ServeArgs) -> ExitCode {
    let _log_guard = logging::init(args.log_format);
    let env_set = std::env::var_os(AUTH_ENV).is_some();
    let auth_token = match auth_token(args.auth_token.take(), env_set) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Taken before the check, so an edit made while the server starts is applied, not missed.
    let watch_from = args
        .watch
        .then(|| super::watch::Watch::from_now(args.file.clone()));
    let report = check_file(&args.file, &CheckOptions::default());
    let diagnostics = report.render_text();
    if !diagnostics.is_empty() {
        super::output::err(&diagnostics);
    }
    if report.has_errors() {
        return ExitCode::FAILURE;
    }
    let Some(config) = report.config else {
        eprintln!("error: {} produced no configuration", args.file.display());
        return ExitCode::FAILURE;
    };
    let cors = match crate::server::middleware::cors::CorsOrigins::parse(&args.cors_origins) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let placement = super::placement::PlacementArgs {
        bus: args.bus.clone(),
        namespace: args.namespace.clone(),
        node: args.node.clone(),
        components: args.components.clone(),
        vm: args.vm.clone(),
        watch: args.watch,
    };
    let mut runtime = runtime_options(&args);
    runtime.cluster = match super::placement::cluster_spec(&placement, &config, &args.file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let request_timeout = Duration::from_secs(args.request_timeout.max(1));
    let opts = ServeOptions {
        runtime,
        host: args.host,
        port: args.port,
        limits: Limits {
            max_body: args.max_body,
            default_deadline: request_timeout,
            max_deadline: Duration::from_secs(args.max_request_timeout).max(request_timeout),
            body_timeout: Duration::from_secs(args.body_timeout),
        },
        drain_timeout: Duration::from_secs(args.drain_timeout),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        auth_token,
        workers: args.workers,
        events: crate::server::replay::FeedOptions {
            window: Duration::from_secs(args.sse_replay_window),
            bytes: args.sse_replay_bytes,
            max_subscribers: args.events_max_subscribers,
        },
        cors,
        watch: watch_from,
    };
    let system = actix_rt::System::new();
    match system.block_on(server::serve(config, opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("2000"), Ok(2000));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("1GiB").is_err(), "unknown unit");
        assert!(parse_size("2048MiB").is_err(), "over 1 GiB");
    }

    #[test]
    fn budgets() {
        use super::parse_budget;
        assert_eq!(parse_budget("256MiB"), Ok(256 << 20));
        assert_eq!(parse_budget("4GiB"), Ok(4 << 30));
        assert_eq!(parse_budget("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_budget("4KiB"), Ok(4096));
        assert!(parse_budget("0GiB").is_err());
        assert!(parse_budget("2048GiB").is_err(), "over 1 TiB");
        assert!(parse_budget("lots").is_err());
    }
}
