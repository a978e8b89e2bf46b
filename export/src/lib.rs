//! `woodwork-actors export`: the deployment files of a checked `.ww` system — a Dockerfile for
//! the binary, a Compose file, or Kubernetes manifests — built from typed structures
//! (`k8s-openapi` objects, serde structs for Compose) so every manifest is well-formed by
//! construction and can be read back strictly.
//!
//! It reads only the front end's output (a [`Config`] checked without the environment, and the
//! source text for the variables and file names it mentions), never secret values: every `$VAR` becomes a
//! reference to a Secret (Kubernetes) or a pass-through variable (Compose).
//!
//! With a broker (`--bus`, or `message_bus` in the file's top-level `deployment`) the system is
//! a cluster (DESIGN.md §7): one service / Deployment per placement group and, when the broker
//! runs next to it, the broker too.

mod bus;
mod compose;
mod compose_cluster;
mod deploy;
mod dockerfile;
mod error;
mod files;
mod groups;
mod kube;
mod kube_broker;
mod kube_cluster;
mod name;
mod notes;
mod quantity;
mod scan;
mod system;
mod yaml;

pub use bus::BUS_VAR;
pub use compose::{ComposeFile, ComposeService};
pub use error::ExportError;
pub use kube::CONFIGMAP_MAX_BYTES;
pub use system::HTTP_PORT;

use std::path::{Path, PathBuf};
use woodwork_parser::Config;

/// What to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `Dockerfile`, `compose.yaml` and the system's files in `system/`.
    Compose,
    /// `Dockerfile` and manifests: ConfigMap, Deployment, Service (and a HorizontalPodAutoscaler).
    Kubernetes,
}

/// How to export.
#[derive(Clone, Debug)]
pub struct Options {
    pub format: Format,
    /// Object/project name; default: the file's stem, or its directory's name for `main.ww`.
    pub name: Option<String>,
    /// The container image the manifests run (the Dockerfile builds it).
    pub image: String,
    /// `serve --drain-timeout` in the container; the termination grace is longer.
    pub drain_timeout_s: u64,
    /// `--bus URL`: the broker of a cluster (over the file's `message_bus`). A loopback host
    /// brings the broker along; any other is the operator's, read from `WOODWORK_BUS`.
    pub bus: Option<String>,
}

/// One file to write, by path relative to the output directory (`/`-separated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// An export ready to write.
#[derive(Clone, Debug)]
pub struct Export {
    /// The system's name (object names, Compose project).
    pub name: String,
    pub files: Vec<OutFile>,
    /// What export could not do for the user (printed, never fatal).
    pub warnings: Vec<String>,
    /// Every variable the containers get from the Secret / the environment, by name only.
    pub env: Vec<String>,
    /// Placement groups and broker of a cluster, one line each, to print (empty otherwise).
    pub cluster: Vec<String>,
}

/// Renders the deployment files of `config` (checked with `resolve_env: false`), whose text is
/// `source`.
pub fn export(config: &Config, source: &str, opts: &Options) -> Result<Export, ExportError> {
    let sys = system::read(config, source, opts)?;
    let mut files = vec![
        text("Dockerfile", dockerfile::dockerfile(&sys)),
        text("Dockerfile.dockerignore", dockerfile::dockerignore()),
    ];
    match opts.format {
        Format::Compose => {
            files.push(text("compose.yaml", compose::compose_yaml(&sys)?));
            files.extend(sys.files.iter().map(|f| OutFile {
                path: format!("system/{}", f.rel),
                bytes: f.bytes.clone(),
            }));
        }
        Format::Kubernetes => {
            files.extend(
                kube::manifests(&sys)?
                    .into_iter()
                    .map(|m| text(&m.file, m.yaml)),
            );
        }
    }
    if sys.broker.is_some() {
        files.push(text("README.md", notes::readme(&sys, opts.format)));
    }
    Ok(Export {
        name: sys.name.clone(),
        files,
        warnings: sys.warnings.clone(),
        env: sys.env.iter().map(|e| e.name.clone()).collect(),
        cluster: notes::summary(&sys),
    })
}

fn text(path: &str, body: String) -> OutFile {
    OutFile {
        path: path.to_string(),
        bytes: body.into_bytes(),
    }
}

/// Writes `export` under `out` (created if missing); files of the same name are replaced and
/// nothing else in the directory is touched. Returns the paths written.
pub fn write(export: &Export, out: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Write { path, source }
    };
    std::fs::create_dir_all(out).map_err(werr(out))?;
    let mut written = Vec::with_capacity(export.files.len());
    for f in &export.files {
        let path = out.join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(werr(dir))?;
        }
        std::fs::write(&path, &f.bytes).map_err(werr(&path))?;
        written.push(path);
    }
    Ok(written)
}
