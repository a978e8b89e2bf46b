//! A system with a broker exports as a cluster (DESIGN.md §7, §8): one Compose service /
//! Kubernetes Deployment + Service per placement group (`vm server` declarations, and `main` for
//! the rest), each started with its components and the broker URL in `WOODWORK_BUS`; the broker
//! itself when its URL is a loopback one; an external broker's URL, password and all, only ever
//! referenced (a Secret key, a pass-through variable), never written. The manifests are validated
//! like every other export (`kubernetes-validate`, the Compose schema, from the test venv).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use woodwork_export::{export, Export, Format, Options};
use woodwork_parser::{check_source, CheckOptions};

const CLUSTER: &str = r#"deployment = server {
    message_bus = "redis://127.0.0.1:6379"
}

model = llm mock {}

assistant = agent llm {
    model: model
    deployment = { scaling: { replicas: 3 }, resources: { cpu: "250m" } }
}

web = input api {
    port: 8001
    host: "0.0.0.0"
    to: assistant
}

in = input command_line {
    to: assistant
}

out = output console {}

front = vm server {
    components: [web]
}

brain = vm server {
    components: [assistant, model]
}
"#;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp_system(name: &str, source: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ww-cluster-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ww = dir.join("shop.ww");
    std::fs::write(&ww, source).unwrap();
    ww
}

fn try_export(path: &Path, format: Format, bus: Option<&str>) -> Result<Export, String> {
    let source = std::fs::read_to_string(path).unwrap();
    let opts = CheckOptions {
        resolve_env: false,
        env: None,
    };
    let report = check_source(path, &source, &opts);
    let config = report.config.as_ref().ok_or_else(|| report.render_text())?;
    let options = Options {
        format,
        name: None,
        image: "woodwork-actors:test".into(),
        drain_timeout_s: 25,
        bus: bus.map(str::to_string),
    };
    export(config, &source, &options).map_err(|e| e.to_string())
}

fn yaml_of(e: &Export, path: &str) -> Value {
    let f = e.files.iter().find(|f| f.path == path).unwrap_or_else(|| {
        let have: Vec<&str> = e.files.iter().map(|f| f.path.as_str()).collect();
        panic!("no {path} in {have:?}")
    });
    serde_norway::from_slice(&f.bytes).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The `name` entry of a container's `env`.
fn env<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {}", container["env"]))
}

fn container(e: &Export, group: &str) -> Value {
    let d = yaml_of(e, &format!("deployment-{group}.yaml"));
    d["spec"]["template"]["spec"]["containers"][0].clone()
}

#[test]
fn each_vm_is_a_group_the_rest_is_main_and_a_loopback_broker_runs_in_the_cluster() {
    let ww = temp_system("groups", CLUSTER);
    let k = try_export(&ww, Format::Kubernetes, None).unwrap();
    let paths: Vec<&str> = k.files.iter().map(|f| f.path.as_str()).collect();
    for want in [
        "configmap.yaml",
        "redis-statefulset.yaml",
        "redis-service.yaml",
        "deployment-main.yaml",
        "service-main.yaml",
        "deployment-front.yaml",
        "service-front.yaml",
        "deployment-brain.yaml",
        "service-brain.yaml",
        "README.md",
    ] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
    assert!(!paths.contains(&"deployment.yaml"), "{paths:?}");

    let main = container(&k, "main");
    let args = strings(&main["args"]);
    let tail = &args[args.len() - 4..];
    assert_eq!(tail, ["--namespace", "shop", "--components", "in,out"]);
    assert!(
        !args.iter().any(|a| a.contains("redis")),
        "the URL is not an argument: {args:?}"
    );
    assert_eq!(
        env(&main, "WOODWORK_BUS")["value"],
        "redis://shop-redis:6379"
    );
    let front = container(&k, "front");
    assert_eq!(strings(&front["args"]).last().unwrap(), "front");
    assert!(strings(&front["args"]).contains(&"--vm".to_string()));

    // Replicas and resources are the group's own; sessions live in the broker: no affinity.
    let brain = yaml_of(&k, "deployment-brain.yaml");
    assert_eq!(brain["spec"]["replicas"], 3);
    assert_eq!(
        brain["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "250m"
    );
    assert_eq!(yaml_of(&k, "deployment-main.yaml")["spec"]["replicas"], 1);
    assert!(yaml_of(&k, "service-brain.yaml")["spec"]["sessionAffinity"].is_null());

    // Each group's pods are its own: selectors differ by component.
    let sel = |g: &str| yaml_of(&k, &format!("service-{g}.yaml"))["spec"]["selector"].clone();
    assert_ne!(sel("main"), sel("front"));
    assert_eq!(
        yaml_of(&k, "deployment-front.yaml")["spec"]["selector"]["matchLabels"],
        sel("front")
    );
    // The input api's port is on the group hosting it only.
    let ports = |g: &str| -> Vec<i64> {
        yaml_of(&k, &format!("service-{g}.yaml"))["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["port"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ports("front"), [8080, 8001]);
    assert_eq!(ports("main"), [8080]);

    let redis = yaml_of(&k, "redis-statefulset.yaml");
    let c = &redis["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "redis:7-alpine");
    assert!(strings(&c["args"]).contains(&"--appendonly".to_string()));
    assert_eq!(
        redis["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );
    assert_eq!(
        yaml_of(&k, "redis-service.yaml")["spec"]["ports"][0]["port"],
        6379
    );

    let c = try_export(&ww, Format::Compose, None).unwrap();
    let compose = yaml_of(&c, "compose.yaml");
    let services = compose["services"].as_object().unwrap();
    let mut names: Vec<&str> = services.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["brain", "front", "main", "redis", "shop-files"]);
    assert_eq!(services["redis"]["image"], "redis:7-alpine");
    assert_eq!(
        strings(&services["redis"]["command"]),
        ["redis-server", "--appendonly", "yes"]
    );
    assert_eq!(strings(&services["redis"]["volumes"]), ["redis-data:/data"]);
    assert!(compose["volumes"]["redis-data"].is_object());
    let mut published = Vec::new();
    for g in ["main", "front", "brain"] {
        let s = &services[g];
        assert_eq!(
            s["environment"]["WOODWORK_BUS"], "redis://redis:6379",
            "{g}"
        );
        assert_eq!(
            s["depends_on"]["redis"]["condition"], "service_started",
            "{g}"
        );
        assert!(s["depends_on"]["shop-files"].is_object(), "{g}");
        published.push(s["ports"][0]["published"].as_str().unwrap().to_string());
    }
    assert_eq!(
        published,
        ["8080", "8081", "8082"],
        "one host port per group"
    );
    assert_eq!(services["front"]["ports"][1]["target"], 8001);
    assert!(strings(&services["brain"]["command"]).ends_with(&["--vm".into(), "brain".into()]));
    let readme = String::from_utf8(
        c.files
            .iter()
            .find(|f| f.path == "README.md")
            .unwrap()
            .bytes
            .clone(),
    )
    .unwrap();
    assert!(
        readme.contains("group `brain` (serve --vm brain): assistant, model, brain, 3 replicas"),
        "{readme}"
    );
}

#[test]
fn a_loopback_nats_url_brings_a_jetstream_server() {
    let ww = temp_system("nats", CLUSTER);
    let c = try_export(&ww, Format::Compose, Some("nats://localhost:4222")).unwrap();
    let compose = yaml_of(&c, "compose.yaml");
    let nats = &compose["services"]["nats"];
    assert_eq!(nats["image"], "nats:2.10-alpine");
    assert_eq!(strings(&nats["command"]), ["-js", "-sd", "/data"]);
    assert!(
        compose["services"].get("redis").is_none(),
        "--bus wins over the file"
    );
    assert_eq!(
        compose["services"]["main"]["environment"]["WOODWORK_BUS"],
        "nats://nats:4222"
    );
    let k = try_export(&ww, Format::Kubernetes, Some("nats://localhost:4222")).unwrap();
    assert_eq!(
        env(&container(&k, "brain"), "WOODWORK_BUS")["value"],
        "nats://shop-nats:4222"
    );
    assert!(k.files.iter().any(|f| f.path == "nats-statefulset.yaml"));
}

#[test]
fn an_external_brokers_url_is_referenced_never_written() {
    let ww = temp_system("external", CLUSTER);
    let bus = "redis://:s3cr3t-pw@cache.example.com:6379/2";
    for format in [Format::Kubernetes, Format::Compose] {
        let e = try_export(&ww, format, Some(bus)).unwrap();
        for f in &e.files {
            let body = String::from_utf8_lossy(&f.bytes);
            assert!(!body.contains("s3cr3t-pw"), "{}: the password", f.path);
            assert!(!body.contains("cache.example.com"), "{}: the URL", f.path);
            assert!(
                !f.path.starts_with("redis"),
                "no broker of ours: {}",
                f.path
            );
        }
        assert!(e.env.contains(&"WOODWORK_BUS".to_string()), "{:?}", e.env);
        assert!(
            e.cluster.iter().any(|l| l.contains("WOODWORK_BUS")),
            "{:?}",
            e.cluster
        );
        if format == Format::Kubernetes {
            let main = container(&e, "main");
            let r = &env(&main, "WOODWORK_BUS")["valueFrom"]["secretKeyRef"];
            assert_eq!(r["name"], "shop");
            assert_eq!(r["key"], "WOODWORK_BUS");
            assert!(r["optional"].is_null(), "required");
        } else {
            let compose = yaml_of(&e, "compose.yaml");
            assert!(compose["services"].get("redis").is_none());
            let env = &compose["services"]["front"]["environment"];
            assert!(env.get("WOODWORK_BUS").is_some() && env["WOODWORK_BUS"].is_null());
        }
    }
}

#[test]
fn a_broker_url_from_a_variable_is_read_from_that_variable() {
    let src = CLUSTER.replace(
        "message_bus = \"redis://127.0.0.1:6379\"",
        "message_bus = redis {\n        redis_url = $REDIS_URL\n    }",
    );
    let ww = temp_system("var", &src);
    let k = try_export(&ww, Format::Kubernetes, None).unwrap();
    let main = container(&k, "main");
    let r = &env(&main, "WOODWORK_BUS")["valueFrom"]["secretKeyRef"];
    assert_eq!(r["key"], "REDIS_URL");
    assert_eq!(
        env(&main, "REDIS_URL")["valueFrom"]["secretKeyRef"]["key"],
        "REDIS_URL"
    );
    let c = try_export(&ww, Format::Compose, None).unwrap();
    let compose = yaml_of(&c, "compose.yaml");
    assert_eq!(
        compose["services"]["brain"]["environment"]["WOODWORK_BUS"],
        "${REDIS_URL}"
    );
}

#[test]
fn without_vms_everything_is_one_main_group_and_memory_is_no_broker() {
    let ww = temp_system("novm", "m = llm mock {}\nin = input command_line {}\n");
    let k = try_export(&ww, Format::Kubernetes, Some("redis://127.0.0.1")).unwrap();
    let args = strings(&container(&k, "main")["args"]);
    assert!(
        args.ends_with(&["--components".into(), "m,in".into()]),
        "{args:?}"
    );
    assert!(!k.files.iter().any(|f| f.path.contains("front")));

    let plain = try_export(&ww, Format::Kubernetes, Some("memory")).unwrap();
    assert!(plain.cluster.is_empty());
    assert!(plain.files.iter().any(|f| f.path == "deployment.yaml"));
}

#[test]
fn a_group_that_autoscales_without_a_cpu_request_is_refused_and_bad_urls_say_why() {
    let src = CLUSTER.replace(
        "replicas: 3 }, resources: { cpu: \"250m\" }",
        "min: 1, max: 4 }",
    );
    let ww = temp_system("hpa", &src);
    let err = try_export(&ww, Format::Kubernetes, None).unwrap_err();
    assert!(
        err.contains("`brain`") && err.contains("CPU request"),
        "{err}"
    );
    assert!(err.contains("help: "), "{err}");

    let ww = temp_system("badurl", CLUSTER);
    let err = try_export(&ww, Format::Compose, Some("amqp://u:pw@h:5672")).unwrap_err();
    assert!(err.contains("amqp") && err.contains("redis://"), "{err}");
    assert!(!err.contains("pw@"), "{err}");
}

fn venv_tool(name: &str) -> PathBuf {
    let tool = root().join(".venv/bin").join(name);
    assert!(
        tool.exists(),
        "{} is missing: run scripts/venv.sh (scripts/requirements-test.txt lists it)",
        tool.display()
    );
    tool
}

#[test]
fn cluster_manifests_pass_the_schemas_with_an_external_and_an_in_cluster_broker() {
    let ww = temp_system("schemas", CLUSTER);
    for (i, bus) in [
        None,
        Some("redis://:pw@cache.example.com:6379"),
        Some("nats://127.0.0.1:4222"),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = std::env::temp_dir().join(format!("ww-cluster-out{i}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let k = try_export(&ww, Format::Kubernetes, bus).unwrap();
        woodwork_export::write(&k, &dir.join("k")).unwrap();
        let yamls: Vec<PathBuf> = k
            .files
            .iter()
            .filter(|f| f.path.ends_with(".yaml"))
            .map(|f| dir.join("k").join(&f.path))
            .collect();
        let o = Command::new(venv_tool("kubernetes-validate"))
            .args(["--strict", "-k", "1.37.0", "--quiet"])
            .args(&yamls)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "kubernetes-validate ({bus:?}):\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let c = try_export(&ww, Format::Compose, bus).unwrap();
        woodwork_export::write(&c, &dir.join("c")).unwrap();
        let o = Command::new(venv_tool("check-jsonschema"))
            .args(["--builtin-schema", "vendor.compose-spec"])
            .arg(dir.join("c/compose.yaml"))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "compose schema ({bus:?}):\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn a_vm_named_like_the_broker_or_main_gets_a_name_of_its_own() {
    let src = "m = llm mock {}\nout = output console {}\n\
               main = vm server {\n    components: [m]\n}\n\
               redis = vm server {\n    components: [out]\n}\n\
               spare = vm server {\n    components: []\n}\n";
    let ww = temp_system("clash", src);
    let c = try_export(&ww, Format::Compose, Some("redis://localhost:6379")).unwrap();
    let compose = yaml_of(&c, "compose.yaml");
    let services = compose["services"].as_object().unwrap();
    let mut names: Vec<&str> = services.keys().map(String::as_str).collect();
    names.sort();
    // Every component is in a vm: no `main` group of leftovers.
    assert_eq!(names, ["main", "redis", "redis-2", "shop-files", "spare"]);
    assert_eq!(services["redis"]["image"], "redis:7-alpine");
    assert!(strings(&services["redis-2"]["command"]).ends_with(&["--vm".into(), "redis".into()]));
}
