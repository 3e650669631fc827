//! Loom models of the reader/writer handshake, writer exclusion and the takeover of dead holders.

use super::*;
use loom::sync::Arc;

const DEAD: u64 = 0xdead << 40;

fn alive(tag: u64) -> bool {
    tag != DEAD
}

struct Model {
    h: Header,
    slots: Vec<AtomicU64>,
}

impl Slots for Vec<AtomicU64> {
    fn count(&self) -> u32 {
        self.len() as u32
    }
    fn slot(&self, i: u32) -> &AtomicU64 {
        &self[i as usize]
    }
}

fn model(writer: u64, slots: &[u64]) -> Arc<Model> {
    Arc::new(Model {
        h: Header {
            writer: AtomicU64::new(writer),
            writer_epoch: AtomicU32::new(0),
            writer_sleepers: AtomicU32::new(0),
            reader_epoch: AtomicU32::new(0),
            reader_sleepers: AtomicU32::new(0),
            state: AtomicU32::new(CONSISTENT),
            writer_deaths: AtomicU32::new(0),
            reader_deaths: AtomicU32::new(0),
            max_readers: AtomicU32::new(slots.len() as u32),
        },
        slots: slots.iter().map(|&t| AtomicU64::new(t)).collect(),
    })
}

impl Model {
    fn core(&self) -> Core<'_, Vec<AtomicU64>, fn(u64) -> bool> {
        Core { h: &self.h, slots: &self.slots, alive }
    }
}

/// A reader and a writer: never both inside (the data the writer changes in two steps is
/// never seen half-changed), and both finish.
#[test]
fn loom_rwlock_reader_excludes_writer() {
    loom::model(|| {
        let m = model(0, &[0, 0]);
        let data = Arc::new((AtomicU32::new(0), AtomicU32::new(0)));
        let (m2, d2) = (m.clone(), data.clone());
        let writer = loom::thread::spawn(move || {
            let me = 1 << 40;
            m2.core().write(me, &Deadline::after(None)).unwrap();
            d2.0.store(1, Relaxed);
            d2.1.store(1, Relaxed);
            m2.core().write_unlock(me);
        });
        let me = 2 << 40;
        let i = m.core().read(me, 0, &Deadline::after(None)).unwrap();
        let (a, b) = (data.0.load(Relaxed), data.1.load(Relaxed));
        m.core().read_unlock(i, me);
        assert_eq!(a, b, "a reader saw a write half-done");
        writer.join().unwrap();
        assert_eq!(m.h.writer.load(Relaxed), 0);
        assert!(m.slots.iter().all(|s| s.load(Relaxed) == 0));
    });
}

/// Two writers exclude each other; a reader between them sees whole writes.
#[test]
fn loom_rwlock_writers_exclude_each_other() {
    loom::model(|| {
        let m = model(0, &[0]);
        let inside = Arc::new(AtomicU32::new(0));
        let writers: Vec<_> = (1..=2u64)
            .map(|w| {
                let (m, inside) = (m.clone(), inside.clone());
                loom::thread::spawn(move || {
                    let me = w << 40;
                    m.core().write(me, &Deadline::after(None)).unwrap();
                    assert_eq!(inside.fetch_add(1, Relaxed), 0, "two writers inside");
                    inside.fetch_sub(1, Relaxed);
                    m.core().write_unlock(me);
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
    });
}

/// A writer left by a dead process, and a dead reader's slot: a reader takes the writer word
/// over (reporting the death), and a writer frees the dead reader's slot.
#[test]
fn loom_rwlock_dead_holders_taken_over() {
    loom::model(|| {
        let m = model(DEAD, &[DEAD, 0]);
        let m2 = m.clone();
        let reader = loom::thread::spawn(move || {
            let me = 2 << 40;
            let i = m2.core().read(me, 1, &Deadline::after(None)).unwrap();
            let died = m2.core().writer_died();
            m2.core().read_unlock(i, me);
            died
        });
        let me = 3 << 40;
        m.core().write(me, &Deadline::after(None)).unwrap();
        assert!(m.core().writer_died(), "the dead writer's death is reported");
        m.core().mark_consistent();
        m.core().write_unlock(me);
        let _ = reader.join().unwrap();
        assert_eq!(m.h.writer_deaths.load(Relaxed), 1, "one survivor takes the dead writer over");
        assert_eq!(m.h.reader_deaths.load(Relaxed), 1);
        assert_eq!(m.h.writer.load(Relaxed), 0);
        assert!(m.slots.iter().all(|s| s.load(Relaxed) == 0));
    });
}
