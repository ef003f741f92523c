//! Raw bytes as the ResourceList on standard input, through the whole
//! function with a fixed seed and clock, and through KRM mode's pass-through
//! fast path, which must write the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redis_sentinel_fn::krm::{ResourceList, Severity};
use redis_sentinel_fn::{function, ownership, spec};
use redis_sentinel_fn_fuzz::{NOW, check_generated, check_run, seed};

fuzz_target!(|data: &[u8]| {
    let out = function::run(data, Ok(Some(seed())), NOW);
    check_run(data, &out);
    // KRM mode writes through the pass-through fast path: the same bytes.
    let mut fast = Vec::new();
    // Errors (and, where the caller drops results, warnings) are told as
    // main tells them on standard error; here the errors are counted.
    let told = std::cell::Cell::new(0usize);
    let failed = function::run_write(
        data,
        || Ok(Some(seed())),
        NOW,
        &mut fast,
        |r| {
            if r.severity == Severity::Error {
                told.set(told.get() + 1)
            }
        },
    )
    .expect("the fast path writes");
    let mut slow = Vec::new();
    out.write(&mut slow).expect("the output serializes");
    assert_eq!(
        failed,
        out.has_errors(),
        "the fast path disagrees on errors"
    );
    assert_eq!(
        told.get() > 0,
        failed,
        "errors are told exactly when the output has errors"
    );
    assert!(
        fast == slow,
        "the fast path wrote other bytes:\n{}\n---\n{}",
        String::from_utf8_lossy(&fast),
        String::from_utf8_lossy(&slow)
    );
    if !out.has_errors() {
        // The input was good: check what the function generated (the items
        // marked as the instance's; foreign items pass through as they are).
        let rl = ResourceList::from_bytes(data).expect("accepted input reads");
        let fc = rl
            .function_config
            .expect("accepted input has a functionConfig");
        // One instance, or each of a RedisSentinelList.
        let insts = spec::instances_from_function_config(&fc).expect("accepted spec validates");
        let generated: Vec<_> = out
            .items
            .iter()
            .filter(|i| insts.iter().any(|inst| ownership::is_owned(i, inst)))
            .cloned()
            .collect();
        assert!(
            !generated.is_empty(),
            "a successful render generated nothing"
        );
        check_generated(&generated);
    }
});
