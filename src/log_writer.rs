//! The log sink behind `logging`: request threads append formatted lines to a bounded in-memory
//! buffer; one background thread writes the buffer to stderr in batches.
//!
//! Why not `tracing_appender::non_blocking`: it wakes its writer thread (a futex syscall and a
//! context switch) for every line. Under load that per-line wake cost as much as the formatting
//! (perf, 64 connections, 2 cores). Here a request thread wakes the writer only when the buffer
//! goes from empty to non-empty; the writer then waits [`BATCH_WINDOW`] for more lines and writes
//! them with one `write(2)`. A line therefore reaches stderr within a few milliseconds.
//!
//! Bounded: past [`BUFFER_CAP`] bytes waiting (a reader of stderr slower than the load), lines are
//! dropped rather than stalling requests, and the writer reports how many it dropped.

use parking_lot::{Condvar, Mutex};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use woodwork_runtime::console::end_line_then;

/// Bytes of log lines that may wait for the writer thread.
pub const BUFFER_CAP: usize = 8 << 20;

/// How long the writer gathers lines after the first one of a batch arrives.
pub const BATCH_WINDOW: Duration = Duration::from_millis(2);

struct State {
    buf: Vec<u8>,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    dropped: AtomicU64,
}

/// Where `tracing_subscriber` writes (cheap to clone: one per event).
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Flushes what is buffered and stops the writer thread when dropped (keep it until exit).
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread over `out`.
pub fn start<W: Write + Send + 'static>(out: W) -> (BatchWriter, FlushGuard) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            buf: Vec::with_capacity(64 * 1024),
            closed: false,
        }),
        wake: Condvar::new(),
        dropped: AtomicU64::new(0),
    });
    let worker = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_loop(&worker, out))
        .ok();
    if thread.is_none() {
        // No writer thread: write lines straight through rather than buffer them for nobody.
        shared.state.lock().closed = true;
    }
    (
        BatchWriter {
            shared: shared.clone(),
        },
        FlushGuard { shared, thread },
    )
}

fn write_loop<W: Write>(shared: &Shared, mut out: W) {
    let mut batch: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        {
            let mut st = shared.state.lock();
            while st.buf.is_empty() && !st.closed {
                shared.wake.wait(&mut st);
            }
            if st.buf.is_empty() && st.closed {
                return;
            }
            if !st.closed {
                drop(st);
                std::thread::sleep(BATCH_WINDOW);
                st = shared.state.lock();
            }
            std::mem::swap(&mut st.buf, &mut batch);
        }
        let dropped = shared.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let _ = writeln!(
                batch,
                "WARN log-writer: {dropped} log lines dropped (stderr was read slower than lines were written)"
            );
        }
        // A failed write (closed stderr) loses those lines; there is nowhere else to say so. A
        // console's streamed answer left open on stdout is ended first, so a log line never
        // continues it on a shared terminal.
        let _ = end_line_then(|| out.write_all(&batch).and_then(|_| out.flush()));
        batch.clear();
        if batch.capacity() > 1 << 20 {
            batch.shrink_to(64 * 1024);
        }
    }
}

impl Write for BatchWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut st = self.shared.state.lock();
        if st.closed {
            drop(st);
            // After the guard flushed (the process is exiting): write through.
            return end_line_then(|| std::io::stderr().write(line));
        }
        if st.buf.len() + line.len() > BUFFER_CAP {
            drop(st);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(line.len());
        }
        let was_empty = st.buf.is_empty();
        st.buf.extend_from_slice(line);
        drop(st);
        if was_empty {
            self.shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.state.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` the test can read back.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_reaches_the_output_in_order_by_the_time_the_guard_is_dropped() {
        let sink = Sink::default();
        let (writer, guard) = start(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        w.write_all(format!("t{t} line {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().clone()).unwrap();
        assert_eq!(text.lines().count(), 4000);
        for t in 0..4 {
            let mine: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("t{t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..1000).collect::<Vec<_>>(), "thread {t} in order");
        }
    }

    #[test]
    fn a_line_is_written_without_waiting_for_more() {
        let sink = Sink::default();
        let (mut writer, _guard) = start(sink.clone());
        writer.write_all(b"alone\n").unwrap();
        for _ in 0..500 {
            if !sink.0.lock().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(&*sink.0.lock(), b"alone\n");
    }

    #[test]
    fn past_the_cap_lines_are_dropped_and_counted() {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                buf: vec![b'x'; BUFFER_CAP],
                closed: false,
            }),
            wake: Condvar::new(),
            dropped: AtomicU64::new(0),
        });
        let mut w = BatchWriter {
            shared: shared.clone(),
        };
        w.write_all(b"one too many\n").unwrap();
        assert_eq!(shared.dropped.load(Ordering::Relaxed), 1);
        assert_eq!(shared.state.lock().buf.len(), BUFFER_CAP);
    }
}
