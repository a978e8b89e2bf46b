//! Envelopes and errors serialise with woodwork's names and round-trip; errors carry stable codes.

use std::sync::Arc;
use std::time::Duration;
use woodwork_runtime::*;

#[test]
fn envelope_round_trips_through_json() {
    let mut env = Envelope::new(
        Arc::from("s1"),
        EventType::AgentThought,
        Arc::new(serde_json::json!({"thought": "hmm"})),
        Arc::from("agent"),
    );
    env.stream_id = Some(Arc::from("st"));
    env.chunk_index = Some(2);
    env.is_final = Some(false);
    let json = serde_json::to_value(&env).unwrap();
    for key in [
        "message_id",
        "session_id",
        "event_type",
        "payload",
        "sender",
        "target",
        "created_at",
        "retry_count",
        "max_retries",
        "ttl",
        "trace_id",
        "correlation_id",
        "deadline",
        "stream_id",
        "chunk_index",
        "is_final",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["event_type"], "agent.thought");
    assert_eq!(json["max_retries"], 3);
    assert_eq!(json["ttl"], 300.0);
    let back: Envelope = serde_json::from_value(json).unwrap();
    assert_eq!(back.message_id, env.message_id);
    assert_eq!(back.event_type, EventType::AgentThought);
    assert_eq!(back.payload["thought"], "hmm");
    assert_eq!(back.chunk_index, Some(2));
}

#[test]
fn every_event_name_parses_back() {
    for e in EventType::ALL {
        assert_eq!(EventType::parse(e.as_str()), Some(e));
    }
    assert!(serde_json::from_str::<EventType>("\"no.such\"").is_err());
}

#[test]
fn message_ids_are_unique_uuids() {
    let a = MessageId::next();
    let b = MessageId::next();
    assert_ne!(a, b);
    assert!(uuid::Uuid::parse_str(&a.to_string()).is_ok());
}

#[test]
fn errors_have_codes_and_retry_after() {
    let cases = [
        (
            RuntimeError::UnknownComponent {
                name: "x".into(),
                known: vec!["a".into()],
            },
            "unknown_component",
            None,
        ),
        (
            RuntimeError::SessionBusy {
                session_id: "s".into(),
            },
            "session_busy",
            None,
        ),
        (
            RuntimeError::Overloaded {
                retry_after: Duration::from_secs(1),
            },
            "overloaded",
            Some(1),
        ),
        (
            RuntimeError::Unavailable {
                component: "m".into(),
                retry_after: Duration::from_secs(7),
            },
            "unavailable",
            Some(7),
        ),
        (
            RuntimeError::DeadlineExceeded {
                component: "m".into(),
            },
            "deadline_exceeded",
            None,
        ),
        (
            RuntimeError::ComponentFailed {
                component: "m".into(),
                message: "x".into(),
            },
            "component_failed",
            None,
        ),
        (RuntimeError::ShuttingDown, "shutting_down", None),
        (RuntimeError::Invalid("x".into()), "invalid_input", None),
        (RuntimeError::Start("x".into()), "start_failed", None),
    ];
    for (e, code, retry) in cases {
        assert_eq!(e.code(), code);
        assert_eq!(e.retry_after().map(|d| d.as_secs()), retry);
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["code"], code);
        assert!(!j["message"].as_str().unwrap().is_empty());
    }
    let e = RuntimeError::UnknownComponent {
        name: "x".into(),
        known: vec!["a".into(), "b".into()],
    };
    assert!(e.to_string().contains("a, b"));
}

#[test]
fn runtime_handles_are_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Runtime>();
}
