//! Panics are failures, not crashes: restarts per strategy and restart type, intensity and
//! escalation, and the messages in hand are retried or answered — never lost.

use crate::common::*;
use std::time::Duration;
use woodwork_parser::{Kind, RestartType, Strategy};
use woodwork_runtime::*;

async fn start(components: Vec<woodwork_parser::Component>) -> Runtime {
    Runtime::start(config(components, &[]), RuntimeOptions::default())
        .await
        .unwrap()
}

#[actix_rt::test]
async fn permanent_one_for_one_restarts_and_retries_the_message() {
    let mut m = mock("model", vec![panic_entry("boom"), s("ok")]);
    m.supervision = sup(RestartType::Permanent, Strategy::OneForOne, 5);
    let rt = start(vec![m, component("other", Kind::Llm, "mock")]).await;
    let resp = rt.send(InputRequest::text("model", "hi")).await.unwrap();
    assert_eq!(resp.text().as_deref(), Some("ok"));
    let st = rt.component("model").unwrap();
    assert_eq!(st.restarts, 1);
    assert!(st.last_failure.unwrap().contains("boom"));
    assert_eq!(st.state, ComponentState::Ready);
    assert_eq!(rt.component("other").unwrap().restarts, 0);
    assert_eq!(rt.health().status, HealthStatus::Healthy);
}

#[actix_rt::test]
async fn transient_is_restarted_after_a_panic() {
    let mut m = mock("model", vec![panic_entry("boom"), s("ok")]);
    m.supervision = sup(RestartType::Transient, Strategy::OneForOne, 5);
    let rt = start(vec![m]).await;
    let resp = rt.send(InputRequest::text("model", "hi")).await.unwrap();
    assert_eq!(resp.text().as_deref(), Some("ok"));
    assert_eq!(rt.component("model").unwrap().restarts, 1);
}

#[actix_rt::test]
async fn temporary_is_not_restarted_and_the_caller_gets_an_error() {
    let mut m = mock("model", vec![panic_entry("boom"), s("ok")]);
    m.supervision = sup(RestartType::Temporary, Strategy::OneForOne, 5);
    let rt = start(vec![m]).await;
    let err = rt
        .send(InputRequest::text("model", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "component_failed");
    assert!(err.to_string().contains("boom"), "{err}");
    let st = rt.component("model").unwrap();
    assert_eq!(st.restarts, 0);
    assert_eq!(st.state, ComponentState::Terminated);
    assert_eq!(rt.health().status, HealthStatus::Unhealthy);
    let again = rt
        .send(InputRequest::text("model", "hi"))
        .await
        .unwrap_err();
    assert_eq!(again.code(), "component_failed");
}

#[actix_rt::test]
async fn one_for_all_restarts_every_sibling() {
    let mut a = mock("a", vec![panic_entry("boom"), s("ok")]);
    a.supervision = sup(RestartType::Permanent, Strategy::OneForAll, 5);
    let rt = start(vec![
        component("b", Kind::Llm, "mock"),
        a,
        component("c", Kind::Input, "api"),
    ])
    .await;
    let resp = rt.send(InputRequest::text("a", "hi")).await.unwrap();
    assert_eq!(resp.text().as_deref(), Some("ok"));
    eventually("siblings restarted", || {
        rt.component("b").unwrap().restarts == 1 && rt.component("c").unwrap().restarts == 1
    })
    .await;
    assert_eq!(rt.component("a").unwrap().restarts, 1);
}

#[actix_rt::test]
async fn rest_for_one_restarts_only_later_siblings() {
    let mut b = mock("b", vec![panic_entry("boom"), s("ok")]);
    b.supervision = sup(RestartType::Permanent, Strategy::RestForOne, 5);
    let rt = start(vec![
        component("a", Kind::Llm, "mock"),
        b,
        component("c", Kind::Llm, "mock"),
    ])
    .await;
    rt.send(InputRequest::text("b", "hi")).await.unwrap();
    eventually("c restarted", || rt.component("c").unwrap().restarts == 1).await;
    assert_eq!(rt.component("a").unwrap().restarts, 0);
    assert_eq!(rt.component("b").unwrap().restarts, 1);
    // The restarted siblings still work.
    assert!(rt.send(InputRequest::text("c", "x")).await.is_ok());
}

#[actix_rt::test]
async fn intensity_exceeded_escalates_to_failed_and_unhealthy() {
    let mut m = mock("model", vec![panic_entry("always")]);
    m.supervision = sup(RestartType::Permanent, Strategy::OneForOne, 2);
    let rt = start(vec![m]).await;
    let err = rt
        .send(InputRequest::text("model", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "component_failed");
    assert!(err.to_string().contains("intensity exceeded"), "{err}");
    let st = rt.component("model").unwrap();
    assert_eq!(st.state, ComponentState::Failed);
    assert_eq!(st.restarts, 2);
    assert_eq!(rt.health().status, HealthStatus::Unhealthy);
    let again = rt
        .send(InputRequest::text("model", "hi"))
        .await
        .unwrap_err();
    assert_eq!(again.code(), "component_failed");
}

#[actix_rt::test]
async fn in_flight_messages_survive_a_panic_in_a_sibling_call() {
    // The first call is slow; the second panics while the first is in flight. The restart
    // cancels the first call's future, and both messages are re-delivered and answered.
    let mut m = mock(
        "model",
        vec![slow("slow", 200), panic_entry("boom"), s("ok")],
    );
    m.supervision = sup(RestartType::Permanent, Strategy::OneForOne, 5);
    let rt = start(vec![m]).await;
    let (a, b) = futures_util::join!(
        rt.send(InputRequest::text("model", "first")),
        rt.send(InputRequest::text("model", "second")),
    );
    assert_eq!(a.unwrap().text().as_deref(), Some("ok"));
    assert_eq!(b.unwrap().text().as_deref(), Some("ok"));
    assert_eq!(rt.component("model").unwrap().restarts, 1);
}

#[actix_rt::test]
async fn a_panicking_agent_in_a_pipeline_is_restarted_and_the_turn_completes() {
    let model = mock(
        "model",
        vec![panic_entry("agent-side"), s("Final Answer: fine")],
    );
    let rt = Runtime::start(pipeline(model), RuntimeOptions::default())
        .await
        .unwrap();
    let resp = rt.send(InputRequest::text("cli", "go")).await.unwrap();
    assert_eq!(resp.text().as_deref(), Some("fine"));
    assert_eq!(rt.component("agent").unwrap().restarts, 1);
}

#[actix_rt::test]
async fn restart_events_are_published() {
    let mut m = mock("model", vec![panic_entry("boom"), s("ok")]);
    m.supervision = sup(RestartType::Permanent, Strategy::OneForOne, 5);
    let rt = start(vec![m]).await;
    let mut events = rt.bus().subscribe(Some(EventType::ComponentRestarted), 16);
    rt.send(InputRequest::text("model", "hi")).await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ev.payload["component_id"], "model");
    assert!(ev.payload["cause"].as_str().unwrap().contains("boom"));
}
