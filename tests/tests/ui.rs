//! Compile-time rules of `#[derive(ShmType)]` and `#[derive(ShmSegment)]`, as the user sees them.
//!
//! `ui/fail/*.rs`: one declaration breaking one rule (several fields each breaking it, where the
//! rule has variants), with the compiler's output in the `.stderr` beside it: zipc's own message
//! at the field or attribute at fault, every error of the file in one compile (`kind_attributes`
//! covers the attributes of every kind but Array and Atomic). `ui/pass/*.rs`: declarations that
//! must compile and whose `main` checks the generated layout (`every_kind` declares every kind
//! with every attribute, and creates, opens and uses the segment).
//!
//! After an intended change of a message, or a compiler upgrade, regenerate the snapshots with
//! `TRYBUILD=overwrite cargo test -p zipc-tests --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
