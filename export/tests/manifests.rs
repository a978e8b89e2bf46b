//! Every example exported in both formats, and each manifest read back strictly: into the
//! `k8s-openapi` type of its kind with no field ignored and nothing lost (serialize it again and
//! compare), the Compose file into our structs with unknown fields refused; then validated
//! against the Kubernetes 1.37 JSON schemas (`kubernetes-validate`) and the Compose
//! specification's schema (`check-jsonschema`'s vendored copy), from the project's test venv.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use std::path::{Path, PathBuf};
use std::process::Command;
use woodwork_export::{export, ComposeFile, Export, Format, Options};
use woodwork_parser::{check_file, check_source, CheckOptions};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn examples(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            examples(&p, out);
        } else if p.extension().is_some_and(|x| x == "ww") {
            out.push(p);
        }
    }
}

fn no_env() -> CheckOptions {
    CheckOptions {
        resolve_env: false,
        env: None,
    }
}

fn options(format: Format) -> Options {
    Options {
        format,
        name: None,
        image: "woodwork-actors:test".into(),
        drain_timeout_s: 25,
        bus: None,
    }
}

fn export_file(path: &Path, format: Format) -> Export {
    let report = check_file(path, &no_env());
    let config = report
        .config
        .as_ref()
        .unwrap_or_else(|| panic!("{}: {}", path.display(), report.render_text()));
    export(config, &report.source, &options(format))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads `yaml` as `T`, failing on any field `T` ignored or any value that does not come back.
fn strict<T: serde::de::DeserializeOwned + serde::Serialize>(what: &str, yaml: &str) -> T {
    let mut ignored = Vec::new();
    let value: T = serde_ignored::deserialize(serde_norway::Deserializer::from_str(yaml), |p| {
        ignored.push(p.to_string())
    })
    .unwrap_or_else(|e| panic!("{what}: {e}\n{yaml}"));
    assert!(
        ignored.is_empty(),
        "{what}: unknown fields {ignored:?}\n{yaml}"
    );
    let again = serde_json::to_value(&value).unwrap();
    let original: serde_json::Value = serde_norway::from_str(yaml).unwrap();
    assert_eq!(again, original, "{what}: does not read back unchanged");
    value
}

fn read_back_kubernetes(what: &str, yaml: &str) -> String {
    let v: serde_json::Value = serde_norway::from_str(yaml).unwrap();
    let kind = v["kind"].as_str().unwrap_or_default().to_string();
    match kind.as_str() {
        "ConfigMap" => drop(strict::<ConfigMap>(what, yaml)),
        "Deployment" => drop(strict::<Deployment>(what, yaml)),
        "StatefulSet" => drop(strict::<StatefulSet>(what, yaml)),
        "Service" => drop(strict::<Service>(what, yaml)),
        "HorizontalPodAutoscaler" => drop(strict::<HorizontalPodAutoscaler>(what, yaml)),
        other => panic!("{what}: unexpected kind {other:?}"),
    }
    kind
}

fn venv_tool(name: &str) -> PathBuf {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/venv.sh",
        python.display()
    );
    let tool = root().join(".venv/bin").join(name);
    assert!(
        tool.exists(),
        "{} is missing: run scripts/venv.sh (scripts/requirements-test.txt lists it)",
        tool.display()
    );
    tool
}

fn written(e: &Export, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ww-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    woodwork_export::write(e, &dir).unwrap();
    dir
}

fn run_ok(mut cmd: Command, what: &str) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{what}:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn every_example_exports_manifests_that_read_back_strictly_and_pass_the_schemas() {
    let mut files = Vec::new();
    examples(&root().join("examples"), &mut files);
    files.sort();
    assert!(files.len() >= 16, "found only {} examples", files.len());
    let validate = venv_tool("kubernetes-validate");
    let compose_schema = venv_tool("check-jsonschema");
    for (i, f) in files.iter().enumerate() {
        let what = f.display().to_string();
        let k = export_file(f, Format::Kubernetes);
        let mut kinds = Vec::new();
        let mut manifests = Vec::new();
        let dir = written(&k, &format!("k{i}"));
        for out in &k.files {
            if out.path.ends_with(".yaml") {
                let yaml = std::str::from_utf8(&out.bytes).unwrap();
                kinds.push(read_back_kubernetes(&format!("{what}: {}", out.path), yaml));
                manifests.push(dir.join(&out.path));
            }
        }
        kinds.sort();
        assert!(
            kinds.starts_with(&["ConfigMap".to_string(), "Deployment".to_string()]),
            "{what}: {kinds:?}"
        );
        assert!(kinds.contains(&"Service".to_string()), "{what}: {kinds:?}");
        let mut cmd = Command::new(&validate);
        cmd.args(["--strict", "-k", "1.37.0", "--quiet"])
            .args(&manifests);
        run_ok(cmd, &format!("kubernetes-validate {what}"));

        let c = export_file(f, Format::Compose);
        let compose = c.files.iter().find(|o| o.path == "compose.yaml").unwrap();
        let yaml = std::str::from_utf8(&compose.bytes).unwrap();
        let parsed: ComposeFile = strict(&format!("{what}: compose.yaml"), yaml);
        if c.cluster.is_empty() {
            assert_eq!(
                parsed.services.len(),
                2,
                "{what}: the copy step and the server"
            );
        } else {
            assert!(
                parsed.services.len() >= 3,
                "{what}: the copy step and the placement groups (and the broker)"
            );
        }
        let dir = written(&c, &format!("c{i}"));
        let mut cmd = Command::new(&compose_schema);
        cmd.args(["--builtin-schema", "vendor.compose-spec"])
            .arg(dir.join("compose.yaml"));
        run_ok(cmd, &format!("compose schema {what}"));
        assert!(
            dir.join("system").join(f.file_name().unwrap()).is_file(),
            "{what}: the .ww is in system/"
        );
    }
}

fn temp_system(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ww-export-src-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (rel, body) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    dir.join("main.ww")
}

fn try_export(path: &Path, format: Format) -> Result<Export, String> {
    let source = std::fs::read_to_string(path).unwrap();
    let report = check_source(path, &source, &no_env());
    let config = report.config.as_ref().ok_or_else(|| report.render_text())?;
    export(config, &source, &options(format)).map_err(|e| e.to_string())
}

const SCALED: &str = r#"model = llm openai {
    api_key: $OPENAI_API_KEY
    base_url: "${OPENAI_BASE_URL:-https://api.openai.com/v1}"
    model: "gpt-4o-mini"
    deployment = { mode: "server", scaling: { min: 2, max: 6 }, resources: { cpu: "250m", memory: "128Mi" } }
}

assistant = agent llm {
    model: model
    prompt: { file: "prompts/system.md" }
    deployment = { resources: { cpu: ".25", memory: "128Mi" } }
}

web = input api {
    port: 8001
    host: "0.0.0.0"
    to: assistant
}
"#;

fn yaml_of(e: &Export, path: &str) -> serde_json::Value {
    let f = e
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path}"));
    serde_norway::from_slice(&f.bytes).unwrap()
}

#[test]
fn scaling_resources_ports_secrets_and_files_reach_the_manifests() {
    let ww = temp_system(
        "scaled",
        &[
            ("main.ww", SCALED),
            ("prompts/system.md", "You help.\n"),
            (".env", "OPENAI_API_KEY=sk-never-exported\n"),
        ],
    );
    let k = try_export(&ww, Format::Kubernetes).unwrap();
    let all: String = k
        .files
        .iter()
        .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
        .collect();
    assert!(!all.contains("sk-never-exported"), "a secret value leaked");

    let hpa = yaml_of(&k, "hpa.yaml");
    assert_eq!(hpa["spec"]["minReplicas"], 2);
    assert_eq!(hpa["spec"]["maxReplicas"], 6);
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );

    let d = yaml_of(&k, "deployment.yaml");
    assert!(
        d["spec"]["replicas"].is_null(),
        "the autoscaler owns replicas"
    );
    let pod = &d["spec"]["template"]["spec"];
    let grace = pod["terminationGracePeriodSeconds"].as_i64().unwrap();
    assert!(grace > 25, "grace {grace} must exceed the 25 s drain");
    let c = &pod["containers"][0];
    // One process hosts both components: their needs add up.
    assert_eq!(c["resources"]["requests"]["cpu"], "500m");
    assert_eq!(c["resources"]["limits"]["memory"], "256Mi");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    let ports: Vec<i64> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [8080, 8001]);
    let env = c["env"].as_array().unwrap();
    let refs: Vec<(String, bool)> = env
        .iter()
        .map(|e| {
            let r = &e["valueFrom"]["secretKeyRef"];
            assert_eq!(
                r["name"],
                k.name.as_str(),
                "one Secret named after the system"
            );
            assert!(e.get("value").is_none(), "never a value");
            (
                r["key"].as_str().unwrap().to_string(),
                r["optional"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        refs,
        [
            ("OPENAI_API_KEY".to_string(), false),
            ("OPENAI_BASE_URL".to_string(), true),
            ("WOODWORK_AUTH_TOKEN".to_string(), true),
        ]
    );
    let cm = yaml_of(&k, "configmap.yaml");
    assert_eq!(cm["data"]["prompts__system.md"], "You help.\n");
    assert!(cm["data"].get(".env").is_none());
    let items = &pod["volumes"][0]["configMap"]["items"];
    assert!(items
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["key"] == "prompts__system.md" && i["path"] == "prompts/system.md"));
    let svc = yaml_of(&k, "service.yaml");
    assert_eq!(svc["spec"]["ports"][1]["port"], 8001);
    assert_eq!(svc["spec"]["sessionAffinity"], "ClientIP");

    let c = try_export(&ww, Format::Compose).unwrap();
    let compose = yaml_of(&c, "compose.yaml");
    let server = &compose["services"][c.name.as_str()];
    assert!(server["environment"]["OPENAI_API_KEY"].is_null());
    assert_eq!(server["deploy"]["resources"]["reservations"]["cpus"], "0.5");
    assert!(c.files.iter().any(|f| f.path == "system/prompts/system.md"));
    assert!(!c.files.iter().any(|f| f.path.ends_with(".env")));
}

#[test]
fn deployment_settings_export_cannot_honour_are_refused_with_where_and_how() {
    // Forms `check` accepts (it refuses malformed ones itself) that export still cannot write.
    let cases = [
        (r#"scaling: { min: 1, max: 3 }"#, "needs a CPU request"),
        (
            r#"resources: { memory: "99999999999Ei" }"#,
            "larger than any machine",
        ),
    ];
    for (i, (entry, want)) in cases.iter().enumerate() {
        let src = format!("m = llm mock {{\n    deployment = {{ {entry} }}\n}}\n");
        let ww = temp_system(&format!("bad{i}"), &[("main.ww", &src)]);
        let err = try_export(&ww, Format::Kubernetes).unwrap_err();
        assert!(err.contains(want), "{entry}: {err}");
        assert!(err.contains("main.ww"), "{entry}: says where: {err}");
        assert!(err.contains("help: "), "{entry}: says how: {err}");
    }
}

#[test]
fn an_input_api_on_8080_moves_the_main_port_instead_of_clashing() {
    let ww = temp_system(
        "port",
        &[(
            "main.ww",
            "m = llm mock {}\nweb = input api {\n    port: 8080\n    host: \"0.0.0.0\"\n}\n",
        )],
    );
    let k = try_export(&ww, Format::Kubernetes).unwrap();
    let d = yaml_of(&k, "deployment.yaml");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    let ports: Vec<i64> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [8081, 8080]);
    assert!(c["args"].as_array().unwrap().iter().any(|a| a == "8081"));
}

#[test]
fn a_file_outside_the_directory_is_refused() {
    let dir = std::env::temp_dir().join(format!("ww-export-outside-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sys")).unwrap();
    std::fs::write(dir.join("prompt.md"), "hi").unwrap();
    let ww = dir.join("sys/main.ww");
    std::fs::write(
        &ww,
        "a = agent llm {\n    model: m\n    prompt: { file: \"../prompt.md\" }\n}\nm = llm mock {}\n",
    )
    .unwrap();
    let err = try_export(&ww, Format::Compose).unwrap_err();
    assert!(err.contains("is outside"), "{err}");
}

#[test]
fn a_top_level_deployment_without_a_broker_exports_one_process() {
    let plain = temp_system(
        "deploy-docker",
        &[("main.ww", "deployment = docker {}\n\nm = llm mock {}\n")],
    );
    let e = try_export(&plain, Format::Kubernetes).unwrap();
    assert!(e.files.iter().any(|f| f.path == "deployment.yaml"));
    assert!(e.cluster.is_empty());

    let memory = temp_system(
        "deploy-memory",
        &[(
            "main.ww",
            "deployment = local {\n    message_bus = \"memory://\"\n}\n\nm = llm mock {}\n",
        )],
    );
    let e = try_export(&memory, Format::Compose).unwrap();
    assert!(e.cluster.is_empty(), "the in-memory bus is one process");
}

#[test]
fn files_too_big_for_a_config_map_refuse_kubernetes_but_not_compose() {
    let big = "x".repeat(woodwork_export::CONFIGMAP_MAX_BYTES + 1);
    let ww = temp_system(
        "big",
        &[
            (
                "main.ww",
                "notes = knowledge_base text_file {\n    path: \"notes.txt\"\n}\n\nm = llm mock {}\n",
            ),
            ("notes.txt", &big),
        ],
    );
    let err = try_export(&ww, Format::Kubernetes).unwrap_err();
    assert!(err.contains("a ConfigMap holds at most"), "{err}");
    assert!(err.contains("--format compose"), "{err}");
    let c = try_export(&ww, Format::Compose).unwrap();
    let notes = c
        .files
        .iter()
        .find(|f| f.path == "system/notes.txt")
        .unwrap();
    assert_eq!(notes.bytes.len(), big.len());
}
