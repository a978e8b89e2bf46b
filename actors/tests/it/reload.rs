//! `Runtime::reload` (what `serve --watch` applies): only changed components restart, added ones
//! start, sessions survive, the same config swaps nothing, and `config.reloaded` /
//! `config.rejected` reach subscribers of the bus the runtime started with.

use crate::common::*;
use std::time::Duration;
use woodwork_parser::{Config, Kind};
use woodwork_runtime::*;

fn system(reply: &str, extra: Option<&str>) -> Config {
    let model = with_prop(component("model", Kind::Llm, "mock"), "reply", s(reply));
    let bot = with_prop(component("bot", Kind::Agent, "llm"), "model", r("model"));
    let mut components = vec![model, bot];
    if let Some(text) = extra {
        components.push(with_prop(
            component("other", Kind::Llm, "mock"),
            "reply",
            s(text),
        ));
    }
    config(components, &[])
}

async fn ask(rt: &Runtime, component: &str) -> Option<String> {
    let req = InputRequest::text(component, "hi").in_session("s");
    rt.send(req).await.unwrap().text()
}

/// The next event of `kind` (bounded wait; a hang guard, not a timing assertion).
async fn next_of(
    rx: &mut tokio::sync::mpsc::Receiver<Envelope>,
    kind: EventType,
) -> serde_json::Value {
    let wait = async {
        while let Some(env) = rx.recv().await {
            if env.event_type == kind {
                return (*env.payload).clone();
            }
        }
        panic!("the event stream ended before {kind}");
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind} event"))
}

#[actix_rt::test]
async fn a_reload_restarts_what_changed_and_keeps_sessions() {
    let rt = Runtime::start(system("one", None), RuntimeOptions::default())
        .await
        .unwrap();
    let mut events = rt.bus().subscribe(None, 256);
    assert_eq!(ask(&rt, "bot").await.as_deref(), Some("one"));

    let same = rt.reload(system("one", None)).await.unwrap();
    assert!(same.is_noop(), "{same:?}");
    assert_eq!(same.generation, 1);

    let report = rt.reload(system("two", Some("three"))).await.unwrap();
    assert_eq!(report.generation, 2);
    assert_eq!(report.restarted, vec!["model"]);
    assert_eq!(report.added, vec!["other"]);
    assert_eq!(report.kept, vec!["bot"]);
    assert!(report.removed.is_empty());
    assert_eq!(rt.config_version().0, 2);

    assert_eq!(ask(&rt, "bot").await.as_deref(), Some("two"));
    assert_eq!(ask(&rt, "other").await.as_deref(), Some("three"));
    assert_eq!(rt.session("s").unwrap().turns, 3, "the session survived");
    assert_eq!(rt.component("model").unwrap().restarts, 1);
    let bot = rt.component("bot").unwrap();
    assert_eq!(bot.restarts, 0);
    assert_eq!(bot.processed, 2, "counters carried over: {bot:?}");

    // The subscriber of the first bus sees the reload (through the bridge).
    let reloaded = next_of(&mut events, EventType::ConfigReloaded).await;
    assert_eq!(reloaded["generation"], 2);
    assert_eq!(reloaded["restarted"], serde_json::json!(["model"]));
    rt.config_rejected(serde_json::json!({"reason": "check_failed"}));
    let rejected = next_of(&mut events, EventType::ConfigRejected).await;
    assert_eq!(rejected["serving_generation"], 2);
    assert_eq!(rejected["detail"]["reason"], "check_failed");

    let back = rt.reload(system("two", None)).await.unwrap();
    assert_eq!(back.removed, vec!["other"]);
    assert!(matches!(
        rt.send(InputRequest::text("other", "hi")).await,
        Err(RuntimeError::UnknownComponent { .. })
    ));
    rt.shutdown().await;
}
