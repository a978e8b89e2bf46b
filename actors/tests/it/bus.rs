//! Bus behaviour through the runtime: breaker transitions, retries, TTL expiry into the DLQ,
//! DLQ replay, backpressure.

use crate::common::*;
use std::time::Duration;
use woodwork_parser::{BreakerSpec, Kind};
use woodwork_runtime::*;

#[actix_rt::test]
async fn breaker_goes_closed_open_half_open_closed() {
    let mut m = mock(
        "model",
        vec![error_entry("auth"), error_entry("auth"), s("ok")],
    );
    m.circuit_breaker = BreakerSpec {
        failure_threshold: 2,
        reset_timeout: Duration::from_millis(500),
        success_threshold: 1,
        call_timeout: Duration::from_secs(5),
    };
    let rt = Runtime::start(config(vec![m], &[]), RuntimeOptions::default())
        .await
        .unwrap();
    let mut events = rt.bus().subscribe(Some(EventType::BreakerStateChanged), 16);
    for _ in 0..2 {
        let e = rt.send(InputRequest::text("model", "x")).await.unwrap_err();
        assert_eq!(e.code(), "component_failed");
    }
    assert_eq!(rt.component("model").unwrap().breaker, BreakerState::Open);
    assert_eq!(rt.health().status, HealthStatus::Degraded);
    let open = rt.send(InputRequest::text("model", "x")).await.unwrap_err();
    assert_eq!(open.code(), "unavailable");
    assert!(open.retry_after().is_some());
    // Wait out the reset timeout (a wait, not a timing assertion).
    tokio::time::sleep(Duration::from_millis(600)).await;
    let ok = rt.send(InputRequest::text("model", "x")).await.unwrap();
    assert_eq!(ok.text().as_deref(), Some("ok"));
    assert_eq!(rt.component("model").unwrap().breaker, BreakerState::Closed);
    let mut seen = Vec::new();
    while let Ok(ev) = events.try_recv() {
        seen.push(ev.payload["to"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, vec!["open", "half_open", "closed"]);
}

#[actix_rt::test]
async fn retryable_errors_are_retried_with_backoff() {
    let m = mock(
        "model",
        vec![
            error_entry("rate_limited"),
            error_entry("server_error"),
            s("third time"),
        ],
    );
    let rt = Runtime::start(config(vec![m], &[]), RuntimeOptions::default())
        .await
        .unwrap();
    let resp = rt.send(InputRequest::text("model", "x")).await.unwrap();
    assert_eq!(resp.text().as_deref(), Some("third time"));
    assert_eq!(rt.health().bus.retried, 2);
    assert_eq!(rt.component("model").unwrap().failed, 2);
}

#[actix_rt::test]
async fn exhausted_retries_go_to_the_dead_letter_queue() {
    let m = mock("model", vec![error_entry("server_error")]);
    let rt = Runtime::start(config(vec![m], &[]), RuntimeOptions::default())
        .await
        .unwrap();
    let err = rt.send(InputRequest::text("model", "x")).await.unwrap_err();
    assert_eq!(err.code(), "component_failed");
    assert!(err.to_string().contains("retries exhausted"), "{err}");
    let dlq = rt.dead_letters();
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].envelope.retry_count, 3);
    // The reason is a stable code; the words are in the message.
    assert_eq!(dlq[0].reason, DeadLetterReason::RetriesExhausted);
    assert!(dlq[0].message.contains("retries exhausted"));
    // Dead letters serialise with woodwork's field names.
    let json = serde_json::to_value(&dlq[0]).unwrap();
    assert_eq!(json["envelope"]["event_type"], "input.received");
    assert_eq!(json["reason"], "retries_exhausted");
    assert!(json["envelope"]["message_id"].is_string());
}

#[actix_rt::test]
async fn ttl_expiry_goes_to_the_dlq_and_replay_answers() {
    // First attempt fails (retryable); the retry waits longer than the request's deadline, so the
    // message is expired when re-delivered and lands in the DLQ. Replay then succeeds.
    let mut m = mock("model", vec![error_entry("server_error"), s("replayed")]);
    m.supervision.backoff_min = Duration::from_millis(200);
    m.supervision.backoff_max = Duration::from_millis(300);
    let rt = Runtime::start(config(vec![m], &[]), RuntimeOptions::default())
        .await
        .unwrap();
    let mut req = InputRequest::text("model", "x");
    req.deadline = Some(Duration::from_millis(50));
    let err = rt.send(req).await.unwrap_err();
    assert_eq!(err.code(), "deadline_exceeded");
    eventually("dead letter", || !rt.dead_letters().is_empty()).await;
    let letter = rt.dead_letters().remove(0);
    assert_eq!(letter.reason, DeadLetterReason::TtlExpired);
    assert!(letter.message.contains("ttl expired"), "{}", letter.message);
    assert_eq!(rt.health().bus.expired, 1);
    let resp = rt.replay(&letter.id).await.unwrap();
    assert_eq!(resp.text().as_deref(), Some("replayed"));
    assert_eq!(resp.session_id, &*letter.envelope.session_id);
    assert!(rt.dead_letters().is_empty());
    assert_eq!(rt.health().bus.replayed, 1);
    let missing = rt.replay(&letter.id).await.unwrap_err();
    assert_eq!(missing.code(), "invalid_input");
}

#[actix_rt::test]
async fn a_full_mailbox_answers_overloaded_after_the_bound() {
    let m = mock("model", vec![slow("slow", 300)]);
    let opts = RuntimeOptions {
        mailbox_capacity: 1,
        send_timeout: Duration::from_millis(30),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(config(vec![m], &[]), opts).await.unwrap();
    let (first, second) = futures_util::join!(
        rt.send(InputRequest::text("model", "a")),
        rt.send(InputRequest::text("model", "b")),
    );
    assert_eq!(first.unwrap().text().as_deref(), Some("slow"));
    let e = second.unwrap_err();
    assert_eq!(e.code(), "overloaded");
    assert!(e.retry_after().is_some());
    assert_eq!(rt.health().bus.overloaded, 1);
}

#[actix_rt::test]
async fn a_call_over_its_timeout_fails_as_a_timeout() {
    let mut m = mock("model", vec![slow("late", 2_000)]);
    m.timeout = Some(Duration::from_millis(20));
    m.supervision.backoff_min = Duration::from_millis(1);
    let rt = Runtime::start(config(vec![m], &[]), RuntimeOptions::default())
        .await
        .unwrap();
    let err = rt.send(InputRequest::text("model", "x")).await.unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[actix_rt::test]
async fn publish_subscribe_delivers_events_to_every_subscriber() {
    let rt = Runtime::start(
        pipeline(component("model", Kind::Llm, "mock")),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let mut all = rt.bus().subscribe(None, 64);
    let mut responses = rt.bus().subscribe(Some(EventType::AgentResponse), 64);
    rt.send(InputRequest::text("cli", "hi")).await.unwrap();
    let r = responses.try_recv().unwrap();
    assert_eq!(r.payload["response"], "echo: hi");
    assert_eq!(r.payload["component_id"], "agent");
    let mut kinds = Vec::new();
    while let Ok(ev) = all.try_recv() {
        kinds.push(ev.event_type);
    }
    assert!(kinds.contains(&EventType::SessionCreated));
    assert!(kinds.contains(&EventType::AgentResponse));
    assert!(rt.health().bus.published > 0);
}
