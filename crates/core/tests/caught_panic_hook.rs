#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `quiet_caught_panics`: a panic caught by `catch_panic` reaches no hook,
//! any other panic reaches the hook installed before (its own binary: the
//! panic hook is process-wide).

use std::sync::atomic::{AtomicUsize, Ordering};

static REPORTED: AtomicUsize = AtomicUsize::new(0);

#[test]
fn only_uncaught_panics_reach_the_previous_hook() {
    std::panic::set_hook(Box::new(|_| {
        REPORTED.fetch_add(1, Ordering::SeqCst);
    }));
    mlrig_core::quiet_caught_panics();

    let caught = mlrig_core::catch_panic(|| -> u8 { panic!("corrupt page") });
    assert_eq!(caught, Err("corrupt page".to_string()));
    assert_eq!(REPORTED.load(Ordering::SeqCst), 0);

    let uncaught = std::thread::spawn(|| panic!("a bug")).join();
    assert!(uncaught.is_err());
    assert_eq!(REPORTED.load(Ordering::SeqCst), 1);
}
