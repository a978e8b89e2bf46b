//! The Dockerfile of this binary: a multi-stage build from a woodwork-actors checkout into a
//! slim Debian runtime, as a non-root user, with `python3` only when the system needs it.
//! (Dockerfiles have no typed model; this is the one text template, and it holds no user data.)

use crate::kube::UID;
use crate::system::System;

/// The Rust image the binary is built with (the toolchain `rust-toolchain.toml` pins).
pub const BUILD_IMAGE: &str = "rust:1.95.0-slim-bookworm";
/// The runtime base: glibc (the binary links it) and nothing else it does not need.
pub const RUNTIME_IMAGE: &str = "debian:bookworm-slim";

/// The Dockerfile's text.
pub fn dockerfile(sys: &System) -> String {
    let packages = if sys.needs_python {
        "ca-certificates python3"
    } else {
        "ca-certificates"
    };
    format!(
        r#"# syntax=docker/dockerfile:1
# woodwork-actors for the `{name}` system, written by `woodwork-actors export`.
# Build it from a woodwork-actors source checkout (the build context), e.g.:
#   docker build -f {dir}/Dockerfile -t {image} /path/to/woodwork-actors
# The .ww file and its files are not in the image: Compose and Kubernetes copy them into /app.

FROM {BUILD_IMAGE} AS build
# The image's own toolchain (rust-toolchain.toml would fetch clippy and rustfmt, unused here).
ENV RUSTUP_TOOLCHAIN=1.95.0
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo build --locked --release --bin woodwork-actors \
    && cp target/release/woodwork-actors /usr/local/bin/woodwork-actors

FROM {RUNTIME_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends {packages} \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid {UID} woodwork \
    && useradd --system --uid {UID} --gid {UID} --home-dir /app --no-create-home woodwork \
    && mkdir /app && chown {UID}:{UID} /app
COPY --from=build /usr/local/bin/woodwork-actors /usr/local/bin/woodwork-actors
USER {UID}:{UID}
WORKDIR /app
ENV HOME=/app
EXPOSE {port}
ENTRYPOINT ["woodwork-actors"]
CMD ["serve", "/app/main.ww", "--host", "0.0.0.0", "--port", "{port}"]
"#,
        name = sys.name,
        dir = "DIR",
        image = sys.image,
        port = sys.http_port,
    )
}

/// `Dockerfile.dockerignore`: BuildKit reads it for this Dockerfile, so the checkout's build
/// output and local environments are not sent as build context.
pub fn dockerignore() -> String {
    "# Read by BuildKit for the Dockerfile next to it.\ntarget/\n.git/\n.venv/\n**/__pycache__/\n**/.woodwork/\n**/.env\n".to_string()
}
