use super::*;
use crate::memory::MemoryLimits;

fn table() -> Arc<SessionTable> {
    SessionTable::new(Duration::from_secs(60), 10, 4)
}

/// Collects the ids the table announces as ended.
fn announced(t: &SessionTable) -> Arc<parking_lot::Mutex<Vec<String>>> {
    let ended = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let sink = ended.clone();
    t.set_on_ended(Box::new(move |id| sink.lock().push(id.to_string())));
    ended
}

fn now(a: Admission) -> SessionTurn {
    match a {
        Admission::Now(t) => t,
        Admission::Queued(..) => panic!("expected the turn at once"),
    }
}

fn queued(a: Admission) -> oneshot::Receiver<SessionTurn> {
    match a {
        Admission::Queued(_, rx) => rx,
        Admission::Now(_) => panic!("expected to wait"),
    }
}

fn turn(t: &Arc<SessionTable>, id: Option<&str>) -> SessionTurn {
    now(t.begin(id, SessionPolicy::Enqueue).unwrap().0)
}

/// One turn in session `id` that remembers `user` (so the session holds a conversation).
fn remembered(t: &Arc<SessionTable>, id: Option<&str>, user: &str) -> String {
    let st = turn(t, id);
    t.record(
        st.id(),
        &Arc::from("mem"),
        MemoryLimits::default(),
        user,
        "ok",
    );
    st.id().to_string()
}

#[tokio::test]
async fn the_turn_skips_waiters_that_went_away() {
    let t = table();
    let first = turn(&t, Some("s"));
    let gone = queued(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
    let waiting = queued(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
    drop(gone);
    drop(first);
    let second = waiting.await.unwrap();
    assert!(t.info("s").unwrap().busy);
    drop(second);
    let info = t.info("s").unwrap();
    assert!(!info.busy);
    assert_eq!(info.turns, 2);
}

#[tokio::test]
async fn a_turn_handed_to_a_dropped_receiver_passes_on() {
    let t = table();
    let first = turn(&t, Some("s"));
    let a = queued(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
    let b = queued(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
    drop(first); // hands the turn to `a`, which never looks at it
    drop(a); // the unreceived turn is dropped with the channel and passes on
    let turn = b.await.unwrap();
    assert_eq!(turn.id().as_ref(), "s");
}

#[test]
fn queue_limit_max_sessions_and_bad_ids() {
    let t = table();
    let ended = announced(&t);
    let _busy = turn(&t, Some("s"));
    let mut waiting = Vec::new();
    for _ in 0..4 {
        waiting.push(queued(
            t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0,
        ));
    }
    for policy in [SessionPolicy::Enqueue, SessionPolicy::Reject] {
        let e = t.begin(Some("s"), policy).err().unwrap();
        assert_eq!(e.code(), "session_busy");
    }
    for i in 0..9 {
        drop(turn(&t, Some(&format!("o{i}"))));
    }
    // Full of idle sessions: the least recently active idle one makes room, never the busy one.
    drop(turn(&t, Some("newcomer")));
    assert_eq!(*ended.lock(), ["o0"]);
    assert!(t.info("o0").is_none());
    assert!(t.info("s").is_some() && t.info("newcomer").is_some());
    assert_eq!(t.len(), 10);
    assert!(t.begin(Some("bad\nid"), SessionPolicy::Enqueue).is_err());
    assert!(t.begin(Some(""), SessionPolicy::Enqueue).is_err());
}

#[test]
fn a_table_full_of_busy_sessions_is_overloaded() {
    let t = SessionTable::new(Duration::from_secs(60), 3, 4);
    let ended = announced(&t);
    let _turns: Vec<_> = (0..3).map(|i| turn(&t, Some(&format!("b{i}")))).collect();
    let e = t
        .begin(Some("one-too-many"), SessionPolicy::Enqueue)
        .err()
        .unwrap();
    assert_eq!(e.code(), "overloaded");
    assert!(ended.lock().is_empty());
    assert_eq!(t.len(), 3);
}

#[test]
fn evictions_spare_conversations_and_go_least_recent_first_within_a_class() {
    let t = SessionTable::new(Duration::from_secs(60), 6, 4);
    let ended = announced(&t);
    remembered(&t, Some("alice"), "hi"); // a named conversation
    let anon = remembered(&t, None, "one question"); // one-shot: anonymous, one turn
    drop(turn(&t, Some("plain-1"))); // nothing to lose
    let back = remembered(&t, None, "first");
    remembered(&t, Some(&back), "second"); // an anonymous session that came back: a conversation
    drop(turn(&t, Some("plain-2")));
    remembered(&t, Some("bob"), "hello");
    assert_eq!(t.len(), 6);
    // Disposable sessions go first, least recently active first: anon, plain-1, plain-2.
    for i in 0..3 {
        drop(turn(&t, Some(&format!("new-{i}"))));
    }
    assert_eq!(*ended.lock(), [anon.as_str(), "plain-1", "plain-2"]);
    // Then the new ones (nothing to lose) before any conversation.
    drop(turn(&t, Some("new-3")));
    assert_eq!(ended.lock().last().map(String::as_str), Some("new-0"));
    for id in ["alice", back.as_str(), "bob"] {
        assert!(t.info(id).is_some(), "{id} was evicted");
    }
    // Only conversations left idle: the least recently active conversation goes.
    let _busy: Vec<_> = (1..4)
        .map(|i| turn(&t, Some(&format!("new-{i}"))))
        .collect();
    drop(turn(&t, Some("late")));
    assert_eq!(ended.lock().last().map(String::as_str), Some("alice"));
}

#[test]
fn a_turn_of_an_ended_session_writes_nothing_into_a_new_session_with_its_id() {
    let t = table();
    let old = turn(&t, Some("s"));
    assert!(t.remove("s"));
    let new = turn(&t, Some("s"));
    assert!(!Arc::ptr_eq(old.id(), new.id()));
    // The old turn's model call finishes after the delete and remembers its exchange.
    t.record(
        old.id(),
        &Arc::from("mem"),
        MemoryLimits::default(),
        "old",
        "old answer",
    );
    assert!(t.history("s").is_empty());
    assert_eq!(t.memory_bytes(), 0);
    // Its end does not end the new session's turn.
    drop(old);
    assert!(t.info("s").unwrap().busy);
    t.record(
        new.id(),
        &Arc::from("mem"),
        MemoryLimits::default(),
        "new",
        "new answer",
    );
    drop(new);
    let history: Vec<String> = t.history("s").into_iter().map(|m| m.content).collect();
    assert_eq!(history, ["new", "new answer"]);
    assert!(!t.info("s").unwrap().busy);
}

#[tokio::test]
async fn ending_a_session_cancels_its_running_turn_and_refuses_its_waiters() {
    let t = table();
    let st = turn(&t, Some("s"));
    let waiter = queued(t.begin(Some("s"), SessionPolicy::Enqueue).unwrap().0);
    let (running, done) = Turn::new(st.id().clone(), Default::default(), None);
    assert!(t.attach(st.id(), &running, &Arc::from("entry")));
    assert!(t.remove("s"));
    assert!(running.is_cancelled());
    let e = done.await.unwrap().unwrap_err();
    assert_eq!(e.code(), "session_ended");
    assert!(e.to_string().contains("session `s` was ended"), "{e}");
    assert!(waiter.await.is_err());
    // A turn admitted before the end but not yet attached learns it at once.
    let late = turn(&t, Some("s2"));
    assert!(t.remove("s2"));
    let (other, _done) = Turn::new(late.id().clone(), Default::default(), None);
    assert!(!t.attach(late.id(), &other, &Arc::from("entry")));
}

#[test]
fn memory_in_total_stays_within_the_budget() {
    let t = SessionTable::with_memory_budget(Duration::from_secs(60), 1000, 4, 1000);
    let ended = announced(&t);
    let text = "x".repeat(98); // 100 bytes a turn with "ok"
    for i in 0..30 {
        remembered(&t, Some(&format!("c{i}")), &text);
        assert!(t.memory_bytes() <= 1000, "{}", t.memory_bytes());
    }
    // The least recently active conversations were evicted; the last ten fit.
    assert_eq!(t.memory_bytes(), 1000);
    assert_eq!(ended.lock().len(), 20);
    assert_eq!(ended.lock()[0], "c0");
    assert!(t.info("c19").is_none() && t.info("c20").is_some());
    // One-shot sessions' memory goes before conversations': the first one-shot session (busy
    // while it records) costs the oldest conversation, each later one its idle predecessor.
    for _ in 0..5 {
        remembered(&t, None, &text);
    }
    assert_eq!(ended.lock().len(), 25);
    assert!(t.info("c20").is_none());
    assert!(
        t.info("c21").is_some(),
        "a conversation went before one-shot memory"
    );
    // A busy session may hold more until its turn ends, then the oldest idle ones make room.
    let busy = turn(&t, Some("c29"));
    for _ in 0..3 {
        t.record(
            busy.id(),
            &Arc::from("mem"),
            MemoryLimits::default(),
            &text,
            "ok",
        );
    }
    assert!(t.memory_bytes() <= 1000);
    drop(busy);
    assert!(t.memory_bytes() <= 1000);
    assert_eq!(t.history("c29").len(), 8);
    // Clearing and ending give the bytes back.
    assert!(t.clear_memory("c29", "mem"));
    assert!(t.remove("c28"));
    let left: usize = (0..30)
        .map(|i| {
            t.history(&format!("c{i}"))
                .iter()
                .map(|m| m.content.len())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(left, 500);
    assert_eq!(t.memory_bytes(), 500);
}

#[test]
fn idle_expiry_takes_only_expired_sessions_and_a_drained_table_shrinks() {
    let t = SessionTable::new(Duration::ZERO, 100_000, 4);
    let ended = announced(&t);
    for i in 0..5000 {
        drop(turn(&t, Some(&format!("e{i}"))));
    }
    let _busy = turn(&t, Some("busy"));
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(t.evict_idle(), 5000);
    assert_eq!(ended.lock().len(), 5000);
    assert_eq!(t.len(), 1);
    // After compaction the table works as before.
    drop(_busy);
    for i in 0..10 {
        drop(turn(&t, Some(&format!("n{i}"))));
    }
    assert_eq!(t.len(), 11);
    assert_eq!(t.info("busy").unwrap().turns, 1);
}

#[test]
fn recent_lists_the_most_recently_active_first_within_the_limit() {
    let t = table();
    for id in ["a", "b", "c", "d", "e"] {
        drop(turn(&t, Some(id)));
    }
    {
        let mut table = t.table.lock();
        for (id, at) in [("a", 5.0), ("b", 1.0), ("c", 4.0), ("d", 2.0), ("e", 3.0)] {
            let slot = table.slot(id).unwrap();
            table.slots.get_mut(slot).unwrap().last_active = at;
        }
    }
    let ids = |v: Vec<SessionInfo>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    let (total, top) = t.recent(3);
    assert_eq!(total, 5);
    assert_eq!(ids(top), ["a", "c", "e"]);
    let (total, all) = t.recent(100);
    assert_eq!(total, 5);
    assert_eq!(ids(all), ["a", "c", "e", "d", "b"]);
    assert_eq!(t.recent(0), (5, Vec::new()));
}
