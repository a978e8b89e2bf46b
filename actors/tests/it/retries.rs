//! One retry budget per request through the runtime: a failure the bus redelivers counts once on
//! the breaker, a model call that timed out is not redelivered (its client's deadline already
//! spanned its retries), and the dead-letter queue stays within its byte bound and pages through
//! every letter exactly once.

use crate::common::{config, error_entry, mock};
use std::collections::HashSet;
use std::time::Duration;
use woodwork_runtime::*;

#[actix_rt::test]
async fn a_request_the_bus_retries_counts_once_on_the_breaker() {
    let mut m = mock("model", vec![error_entry("server_error")]);
    m.circuit_breaker.failure_threshold = 2;
    m.circuit_breaker.reset_timeout = Duration::from_secs(600);
    let rt = Runtime::start(config(vec![m], &[]), RuntimeOptions::default())
        .await
        .unwrap();
    let err = rt.send(InputRequest::text("model", "x")).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("retries exhausted after 4 attempts"),
        "{err}"
    );
    // Four attempts, one failed request: the breaker (threshold 2) is still closed.
    let c = rt.component("model").unwrap();
    assert_eq!(c.breaker, BreakerState::Closed, "{c:?}");
    assert_eq!(c.failed, 4);
    rt.send(InputRequest::text("model", "x")).await.unwrap_err();
    assert_eq!(rt.component("model").unwrap().breaker, BreakerState::Open);
    let refused = rt.send(InputRequest::text("model", "x")).await.unwrap_err();
    assert_eq!(refused.code(), "unavailable");
}

#[actix_rt::test]
async fn a_model_call_that_timed_out_is_not_redelivered() {
    // The provider accepts the request and never answers.
    let provider = crate::wire::Server::start(vec![crate::wire::Reply::sse(
        Vec::new(),
        crate::wire::End::Hold,
    )])
    .await;
    let mut c = crate::wire::component(
        "openai",
        vec![
            ("api_key", crate::wire::secret("sk-test-key")),
            ("model", crate::wire::s("gpt-test")),
            ("base_url", crate::wire::s(&format!("{}/v1", provider.url))),
        ],
    );
    c.timeout = Some(Duration::from_secs(1));
    let rt = Runtime::start(config(vec![c], &[]), RuntimeOptions::default())
        .await
        .unwrap();
    let err = rt.send(InputRequest::text("model", "x")).await.unwrap_err();
    assert!(err.to_string().contains("attempts"), "{err}");
    // The whole-call timeout bounds the client's retries; the bus adds none.
    assert_eq!(provider.requests().len(), 1, "{err}");
}

/// Sends `n` inputs of `size` bytes to a model that always fails (retryable), concurrently.
async fn fill(rt: &Runtime, n: usize, size: usize) -> Vec<RuntimeError> {
    let sends = (0..n).map(|i| {
        let text = format!("{i:06}{}", "x".repeat(size - 6));
        rt.send(InputRequest::text("model", &text))
    });
    futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap_err())
        .collect()
}

fn failing(max_bytes: usize) -> RuntimeOptions {
    RuntimeOptions {
        dlq_max_bytes: max_bytes,
        ..RuntimeOptions::default()
    }
}

async fn start_failing(opts: RuntimeOptions) -> Runtime {
    let mut m = mock("model", vec![error_entry("server_error")]);
    m.circuit_breaker.failure_threshold = 1_000_000;
    Runtime::start(config(vec![m], &[]), opts).await.unwrap()
}

#[actix_rt::test]
async fn the_dead_letter_queue_stays_within_its_byte_bound_and_pages_every_letter_once() {
    let bound = 1024 * 1024;
    let rt = start_failing(failing(bound)).await;
    let sent = 30;
    fill(&rt, sent, 100 * 1024).await;
    let bus = rt.health().bus;
    assert_eq!(bus.dead_lettered, sent as u64);
    assert!(bus.dlq_bytes <= bound, "{bus:?}");
    assert!(bus.dlq_len >= 1 && bus.dlq_len < sent, "{bus:?}");
    assert_eq!(bus.dlq_dropped, (sent - bus.dlq_len) as u64, "{bus:?}");
    let letters = rt.dead_letters();
    assert_eq!(
        letters.iter().map(|l| l.bytes).sum::<usize>(),
        bus.dlq_bytes
    );
    assert!(letters
        .iter()
        .all(|l| l.reason == DeadLetterReason::RetriesExhausted));

    // Page with 4 a page; a letter replayed mid-way does not make the pages skip or repeat.
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 100, "paging does not end");
        let page = rt.dead_letter_page(after, 4);
        assert!(page.letters.len() <= 4);
        seen.extend(page.letters.iter().map(|l| l.id.clone()));
        if pages == 1 {
            let taken = rt.bus().take_dead_letter(&page.letters[3].id);
            assert!(taken.is_some());
        }
        match page.next_after {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), bus.dlq_len, "{seen:?}");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
    let ids: Vec<String> = letters.into_iter().map(|l| l.id).collect();
    assert_eq!(seen, ids);
    assert_eq!(rt.health().bus.dlq_len, bus.dlq_len - 1);
}

#[actix_rt::test]
async fn a_letter_over_the_byte_bound_on_its_own_is_not_kept() {
    let rt = start_failing(failing(1024)).await;
    let errors = fill(&rt, 1, 10 * 1024).await;
    assert!(
        errors[0]
            .to_string()
            .contains("too large for the dead-letter queue"),
        "{}",
        errors[0]
    );
    let bus = rt.health().bus;
    assert_eq!((bus.dead_lettered, bus.dlq_len, bus.dlq_dropped), (1, 0, 1));
    assert_eq!(bus.dlq_bytes, 0);
    // A letter within the bound is still kept.
    fill(&rt, 1, 100).await;
    assert_eq!(rt.health().bus.dlq_len, 1);
}
