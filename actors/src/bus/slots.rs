//! Mailbox slots: a bounded counter with an async wait for a free slot. Cheaper than a semaphore
//! on the hop path (one atomic add to take a slot, one atomic sub to give it back; the waiter
//! list is only touched when someone actually waits).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// The slots of one mailbox.
pub struct Slots {
    capacity: usize,
    used: AtomicUsize,
    waiting: AtomicUsize,
    freed: Notify,
}

/// A taken slot; dropping it frees the slot.
pub struct Slot {
    slots: Arc<Slots>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.used.fetch_sub(1, Ordering::AcqRel);
        if self.slots.waiting.load(Ordering::Acquire) > 0 {
            self.slots.freed.notify_one();
        }
    }
}

impl Slots {
    /// `capacity` free slots.
    pub fn new(capacity: usize) -> Arc<Slots> {
        Arc::new(Slots {
            capacity: capacity.max(1),
            used: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            freed: Notify::new(),
        })
    }

    /// Takes a slot if one is free.
    pub fn try_take(self: &Arc<Self>) -> Option<Slot> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            if used >= self.capacity {
                return None;
            }
            match self.used.compare_exchange_weak(
                used,
                used + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(Slot {
                        slots: self.clone(),
                    })
                }
                Err(now) => used = now,
            }
        }
    }

    /// Waits for a slot (the caller bounds the wait with a timeout).
    pub async fn take(self: &Arc<Self>) -> Slot {
        if let Some(s) = self.try_take() {
            return s;
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        struct Waiting<'a>(&'a Slots);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.waiting.fetch_sub(1, Ordering::AcqRel);
                // Pass on a wake-up this waiter may have consumed without using.
                self.0.freed.notify_one();
            }
        }
        let _w = Waiting(self);
        loop {
            let notified = self.freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(s) = self.try_take() {
                return s;
            }
            notified.await;
        }
    }

    /// Slots in use (the mailbox depth).
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_and_released() {
        let s = Slots::new(2);
        let a = s.try_take().unwrap();
        let _b = s.try_take().unwrap();
        assert!(s.try_take().is_none());
        assert_eq!(s.used(), 2);
        let waiter = {
            let s = s.clone();
            tokio::spawn(async move { s.take().await })
        };
        tokio::task::yield_now().await;
        drop(a);
        let c = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.used(), 2);
        drop(c);
        assert_eq!(s.used(), 1);
    }
}
