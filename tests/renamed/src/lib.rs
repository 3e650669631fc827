//! zipc renamed in `Cargo.toml` (`shm = { package = "zipc", ... }`): `::zipc` does not exist in
//! this crate, and the derives reach the runtime through `#[zipc(crate = "::shm")]` (and
//! zerocopy's derives through `#[zerocopy(crate = "::shm::zerocopy")]`), as serde's derives do
//! with `#[serde(crate = "...")]`. That this crate compiles is the check; its test uses the
//! segment.

use shm::{Atomic, Queue, ShmSegment, ShmType, Spsc};

/// An element type.
#[derive(Clone, Copy, Debug, PartialEq, ShmType, shm::FromBytes, shm::IntoBytes, shm::Immutable, shm::KnownLayout)]
#[zerocopy(crate = "::shm::zerocopy")]
#[zipc(crate = "::shm")]
#[repr(C)]
pub struct Sample {
    /// A sequence number.
    pub seq: u64,
    /// A value.
    pub value: f64,
}

/// A segment declared through the renamed crate.
#[derive(ShmSegment)]
#[zipc(crate = "::shm", name = "/zipc-renamed-check")]
pub struct Renamed {
    /// A queue of samples.
    #[zipc(capacity = 8)]
    pub samples: Queue<Sample, Spsc>,
    /// A counter.
    pub count: Atomic<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_declared_through_a_renamed_zipc_works() {
        let name = format!("/zipc-renamed-check-{}", std::process::id());
        let seg = Renamed::create(&name).unwrap();
        struct Unlink(String);
        impl Drop for Unlink {
            fn drop(&mut self) {
                let _ = shm::Segment::unlink(&self.0);
            }
        }
        let _guard = Unlink(name.clone());
        let mut tx = seg.samples.producer().unwrap();
        tx.push(Sample { seq: 1, value: 2.5 }, None).unwrap();
        seg.count.fetch_add(1);
        let other = Renamed::open(&name).unwrap();
        assert_eq!(other.samples.consumer().unwrap().try_pop().unwrap(), Some(Sample { seq: 1, value: 2.5 }));
        assert_eq!(other.count.load(), 1);
        assert_eq!(Renamed::LAYOUT.structures.len(), 2);
        assert_eq!(Renamed::NAME, "/zipc-renamed-check");
    }
}
