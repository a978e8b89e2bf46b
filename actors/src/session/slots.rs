//! The session table's storage: a slab of entries threaded on intrusive least-recently-used lists,
//! one per eviction class, so admitting, idling and evicting a session cost O(1) whatever the
//! table's size (a scan of the whole table per eviction halved throughput at the cap).

/// The idle list an entry waits on. Evictions for room take the least recently active entry of
/// the disposable classes (`Empty`, `OneShot`) before any `Kept` one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Nothing to lose: no conversation memory, no paused agent.
    Empty = 0,
    /// Memory of a single turn in a session the client never named nor came back to.
    OneShot = 1,
    /// A conversation: memory or a paused agent in a session the client named or resumed.
    Kept = 2,
}

impl Class {
    pub(crate) const ALL: [Class; 3] = [Class::Empty, Class::OneShot, Class::Kept];
}

const NIL: u32 = u32::MAX;

struct Node<T> {
    value: T,
    prev: u32,
    next: u32,
    list: Option<Class>,
}

#[derive(Clone, Copy)]
struct Ends {
    head: u32,
    tail: u32,
    len: usize,
}

const EMPTY: Ends = Ends {
    head: NIL,
    tail: NIL,
    len: 0,
};

/// Entries addressed by a stable `u32` slot; each entry is on at most one list.
pub(crate) struct Slots<T> {
    nodes: Vec<Option<Node<T>>>,
    free: Vec<u32>,
    lists: [Ends; 3],
    len: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            nodes: Vec::new(),
            free: Vec::new(),
            lists: [EMPTY; 3],
            len: 0,
        }
    }
}

impl<T> Slots<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `value` on no list; returns its slot.
    pub(crate) fn insert(&mut self, value: T) -> u32 {
        let node = Node {
            value,
            prev: NIL,
            next: NIL,
            list: None,
        };
        self.len += 1;
        if let Some(i) = self.free.pop() {
            self.nodes[i as usize] = Some(node);
            return i;
        }
        self.nodes.push(Some(node));
        (self.nodes.len() - 1) as u32
    }

    /// Takes the entry out (off its list, if any).
    pub(crate) fn remove(&mut self, i: u32) -> Option<T> {
        self.unlink(i);
        let node = self.nodes.get_mut(i as usize)?.take()?;
        self.free.push(i);
        self.len -= 1;
        Some(node.value)
    }

    pub(crate) fn get(&self, i: u32) -> Option<&T> {
        self.node(i).map(|n| &n.value)
    }

    pub(crate) fn get_mut(&mut self, i: u32) -> Option<&mut T> {
        self.node_mut(i).map(|n| &mut n.value)
    }

    fn node(&self, i: u32) -> Option<&Node<T>> {
        self.nodes.get(i as usize).and_then(Option::as_ref)
    }

    fn node_mut(&mut self, i: u32) -> Option<&mut Node<T>> {
        self.nodes.get_mut(i as usize).and_then(Option::as_mut)
    }

    /// The list the entry is on, if any.
    pub(crate) fn list_of(&self, i: u32) -> Option<Class> {
        self.node(i).and_then(|n| n.list)
    }

    /// The least recently linked entry of `class`.
    pub(crate) fn front(&self, class: Class) -> Option<u32> {
        let head = self.lists[class as usize].head;
        (head != NIL).then_some(head)
    }

    /// Entries on the list of `class`.
    #[cfg(test)]
    pub(crate) fn list_len(&self, class: Class) -> usize {
        self.lists[class as usize].len
    }

    /// Takes the entry off its list (no-op when on none).
    pub(crate) fn unlink(&mut self, i: u32) {
        let Some(node) = self.node_mut(i) else {
            return;
        };
        let Some(class) = node.list.take() else {
            return;
        };
        let (prev, next) = (node.prev, node.next);
        node.prev = NIL;
        node.next = NIL;
        let ends = &mut self.lists[class as usize];
        ends.len -= 1;
        if prev == NIL {
            ends.head = next;
        }
        if next == NIL {
            ends.tail = prev;
        }
        if let Some(p) = self.node_mut(prev) {
            p.next = next;
        }
        if let Some(n) = self.node_mut(next) {
            n.prev = prev;
        }
    }

    /// Makes the entry the most recent of `class` (moving it from any other list).
    pub(crate) fn push_back(&mut self, i: u32, class: Class) {
        self.unlink(i);
        let tail = self.lists[class as usize].tail;
        let Some(node) = self.node_mut(i) else {
            return;
        };
        node.list = Some(class);
        node.prev = tail;
        node.next = NIL;
        if let Some(t) = self.node_mut(tail) {
            t.next = i;
        }
        let ends = &mut self.lists[class as usize];
        if ends.head == NIL {
            ends.head = i;
        }
        ends.tail = i;
        ends.len += 1;
    }

    /// True when most slots are holes left by removals (worth a [`Slots::compact`]).
    pub(crate) fn is_sparse(&self) -> bool {
        self.nodes.len() > 1024 && self.len < self.nodes.len() / 4
    }

    /// Moves every entry to the front of a right-sized slab, keeping the lists' order, and
    /// returns where each old slot went (`u32::MAX` for holes): after a burst of sessions
    /// expired, the slab gives their memory back.
    pub(crate) fn compact(&mut self) -> Vec<u32> {
        let mut remap = vec![NIL; self.nodes.len()];
        let mut nodes = Vec::with_capacity(self.len);
        for (old, node) in std::mem::take(&mut self.nodes).into_iter().enumerate() {
            if let Some(node) = node {
                remap[old] = nodes.len() as u32;
                nodes.push(Some(node));
            }
        }
        let map = |i: u32| if i == NIL { NIL } else { remap[i as usize] };
        for node in nodes.iter_mut().flatten() {
            node.prev = map(node.prev);
            node.next = map(node.next);
        }
        for ends in &mut self.lists {
            ends.head = map(ends.head);
            ends.tail = map(ends.tail);
        }
        self.nodes = nodes;
        self.free = Vec::new();
        remap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(s: &Slots<&'static str>, class: Class) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut i = s.lists[class as usize].head;
        while i != NIL {
            let n = s.node(i).unwrap();
            out.push(n.value);
            i = n.next;
        }
        assert_eq!(out.len(), s.list_len(class));
        out
    }

    #[test]
    fn lists_keep_link_order_and_entries_move_between_them() {
        let mut s = Slots::default();
        let a = s.insert("a");
        let b = s.insert("b");
        let c = s.insert("c");
        for i in [a, b, c] {
            s.push_back(i, Class::Empty);
        }
        assert_eq!(order(&s, Class::Empty), ["a", "b", "c"]);
        s.push_back(a, Class::Empty); // used again: most recent
        assert_eq!(order(&s, Class::Empty), ["b", "c", "a"]);
        s.push_back(c, Class::Kept);
        assert_eq!(order(&s, Class::Empty), ["b", "a"]);
        assert_eq!(order(&s, Class::Kept), ["c"]);
        s.unlink(b);
        assert_eq!(s.list_of(b), None);
        assert_eq!(s.front(Class::Empty), Some(a));
        assert_eq!(s.remove(a), Some("a"));
        assert_eq!(s.front(Class::Empty), None);
        assert_eq!(s.len(), 2);
        let d = s.insert("d"); // reuses a's slot
        assert_eq!(d, a);
        assert_eq!(s.get(d), Some(&"d"));
        assert_eq!(s.remove(99), None);
    }

    #[test]
    fn compaction_keeps_entries_and_order() {
        let mut s = Slots::default();
        let ids: Vec<u32> = (0..2000).map(|_| s.insert("x")).collect();
        for (n, i) in ids.iter().enumerate() {
            s.push_back(
                *i,
                if n % 2 == 0 {
                    Class::Empty
                } else {
                    Class::Kept
                },
            );
        }
        for i in &ids[..1800] {
            s.remove(*i);
        }
        *s.get_mut(ids[1800]).unwrap() = "first";
        *s.get_mut(ids[1999]).unwrap() = "last";
        assert!(s.is_sparse());
        let remap = s.compact();
        assert!(!s.is_sparse());
        assert_eq!(s.len(), 200);
        assert_eq!(s.get(remap[ids[1800] as usize]), Some(&"first"));
        assert_eq!(order(&s, Class::Empty).len(), 100);
        assert_eq!(order(&s, Class::Kept).last(), Some(&"last"));
        assert_eq!(s.front(Class::Empty), Some(remap[ids[1800] as usize]));
    }
}
