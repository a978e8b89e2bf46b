//! `woodwork-actors export FILE --format compose|kubernetes --out DIR`: deployment files for a
//! checked system (DESIGN.md §8), written by the `woodwork-export` crate.

use std::path::PathBuf;
use std::process::ExitCode;
use woodwork_export::{Format, Options};
use woodwork_parser::{check_file, CheckOptions};

/// What `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Dockerfile, compose.yaml and the system's files in system/.
    Compose,
    /// Dockerfile and manifests: ConfigMap, Deployment, Service (+ HorizontalPodAutoscaler).
    Kubernetes,
}

/// Options of `export`. (`Debug` by hand: a `--bus` URL may hold a password.)
#[derive(clap::Args)]
pub struct ExportArgs {
    /// The .ww file.
    pub file: PathBuf,
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Directory to write into (created; files of the same name are replaced, others kept).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Name of the Kubernetes objects / Compose project (default: the file's stem, or its
    /// directory's name for main.ww).
    #[arg(long)]
    pub name: Option<String>,
    /// Container image the manifests run (build it with the exported Dockerfile).
    #[arg(long, default_value = concat!("woodwork-actors:", env!("CARGO_PKG_VERSION")),
          value_parser = image_ref)]
    pub image: String,
    /// `serve --drain-timeout` in the container; the termination grace period is longer.
    #[arg(long, default_value_t = 25, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_timeout: u64,
    /// Message broker of a cluster (redis://… or nats://…; over the file's `message_bus`): one
    /// service per placement group. A localhost URL adds the broker to the export; any other
    /// host is yours, and its URL goes in WOODWORK_BUS (never into the files written).
    #[arg(long, value_name = "URL")]
    pub bus: Option<String>,
}

impl std::fmt::Debug for ExportArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportArgs")
            .field("file", &self.file)
            .field("format", &self.format)
            .field("out", &self.out)
            .field("name", &self.name)
            .field("image", &self.image)
            .field("drain_timeout", &self.drain_timeout)
            .field("bus", &self.bus.as_ref().map(|_| "***"))
            .finish()
    }
}

/// An image reference: non-empty, no spaces or control characters.
fn image_ref(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 255 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            "an image reference such as `registry.example.com/woodwork-actors:0.1.0`".into(),
        );
    }
    Ok(s.to_string())
}

pub fn run(args: ExportArgs) -> ExitCode {
    // Secrets are never read: export needs variable names only.
    let opts = CheckOptions {
        resolve_env: false,
        env: None,
    };
    let report = check_file(&args.file, &opts);
    if !report.diagnostics.is_empty() {
        super::output::err(&report.render_text());
    }
    let Some(config) = &report.config else {
        super::output::err(&format!(
            "error: {} was not exported: fix the errors above\n",
            args.file.display()
        ));
        return ExitCode::FAILURE;
    };
    let format = match args.format {
        ExportFormat::Compose => Format::Compose,
        ExportFormat::Kubernetes => Format::Kubernetes,
    };
    let options = Options {
        format,
        name: args.name.clone(),
        image: args.image.clone(),
        drain_timeout_s: args.drain_timeout,
        bus: args.bus.clone(),
    };
    let result = woodwork_export::export(config, &report.source, &options)
        .and_then(|e| woodwork_export::write(&e, &args.out).map(|w| (e, w)));
    let (export, written) = match result {
        Ok(x) => x,
        Err(e) => {
            super::output::err(&format!("error: {e}\n"));
            return ExitCode::FAILURE;
        }
    };
    for w in &export.warnings {
        super::output::err(&format!("warning: {w}\n"));
    }
    super::output::out(&summary(&args, &export, &written));
    ExitCode::SUCCESS
}

fn summary(args: &ExportArgs, export: &woodwork_export::Export, written: &[PathBuf]) -> String {
    let out = args.out.display();
    let mut s = format!(
        "exported `{}` ({}) to {out}:\n",
        export.name,
        match args.format {
            ExportFormat::Compose => "compose",
            ExportFormat::Kubernetes => "kubernetes",
        }
    );
    for w in written {
        s.push_str(&format!("  {}\n", w.display()));
    }
    if !export.cluster.is_empty() {
        s.push_str("cluster (see README.md there):\n");
        for line in &export.cluster {
            s.push_str(&format!("  {line}\n"));
        }
    }
    s.push_str(&format!(
        "next:\n  docker build -f {out}/Dockerfile -t {} <woodwork-actors checkout>\n",
        args.image
    ));
    let vars = export.env.join(", ");
    match args.format {
        ExportFormat::Compose => {
            if !vars.is_empty() {
                s.push_str(&format!(
                    "  set {vars} in the shell or in {out}/.env (never in compose.yaml)\n"
                ));
            }
            s.push_str(&format!("  docker compose -f {out}/compose.yaml up\n"));
        }
        ExportFormat::Kubernetes => {
            let literals: String = export
                .env
                .iter()
                .map(|v| format!(" --from-literal={v}=..."))
                .collect();
            s.push_str(&format!(
                "  kubectl create secret generic {}{literals}   (optional: WOODWORK_AUTH_TOKEN)\n  kubectl apply -f {out}/\n",
                export.name
            ));
        }
    }
    s
}
