//! The runtime records woodwork's Prometheus metrics through the `metrics` facade (a recorder
//! installed before start receives them).

mod common;

use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use woodwork_runtime::*;

#[actix_rt::test]
async fn component_metrics_are_recorded_with_woodwork_names() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let mut m = mock("model", vec![panic_entry("boom"), s("ok")]);
    m.supervision.backoff_min = std::time::Duration::from_millis(1);
    let mut cfg = pipeline(m);
    cfg.routes.clear(); // call the llm directly, then the pipeline through the agent
    cfg.routes.push(woodwork_parser::Route {
        from: "cli".into(),
        to: "agent".into(),
        inferred: false,
    });
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    rt.send(InputRequest::text("model", "x")).await.unwrap();
    rt.send(InputRequest::text("cli", "y")).await.unwrap();
    let snapshot = snapshotter.snapshot().into_vec();
    let find = |name: &str, component: &str| {
        snapshot.iter().find(|(key, _, _, _)| {
            key.key().name() == name
                && key
                    .key()
                    .labels()
                    .any(|l| l.key() == "component" && l.value() == component)
        })
    };
    assert!(snapshot
        .iter()
        .any(|(k, _, _, _)| k.key().name() == "woodwork_breaker_state"));
    let processed = find("woodwork_component_processed_total", "model").expect("processed counter");
    assert_eq!(processed.1, None);
    assert!(matches!(processed.3, DebugValue::Counter(n) if n >= 1));
    let restarts = find("woodwork_component_restarts_total", "model").expect("restart counter");
    assert!(matches!(restarts.3, DebugValue::Counter(1)));
    let failed = find("woodwork_component_failed_total", "model").expect("failed counter");
    assert!(matches!(failed.3, DebugValue::Counter(n) if n >= 1));
    let latency = find("woodwork_component_latency_seconds", "agent").expect("latency histogram");
    assert_eq!(latency.0.kind(), MetricKind::Histogram);
}
