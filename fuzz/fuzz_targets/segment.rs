//! Fuzzes zipc with arbitrary segment bytes: each input becomes the whole content of a
//! shared-memory object, which is opened, validated, inspected, and every structure in it
//! opened and operated on (`zipc::fuzzing`). Any panic, hang or fault is a finding.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zipc::fuzzing::exercise(data);
});
