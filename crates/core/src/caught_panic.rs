//! Calls into third-party decoders that panic on corrupt input instead of
//! returning an error (the `parquet` crate asserts on some inconsistent page
//! data): [`catch_panic`] turns the panic into an error message, and
//! [`quiet_caught_panics`] keeps the panic hook from printing a backtrace
//! notice for a panic that was caught and reported as an error.

use std::cell::Cell;
use std::panic::AssertUnwindSafe;

thread_local! {
    /// How many [`catch_panic`] calls are active on this thread.
    static CATCHING: Cell<u32> = const { Cell::new(0) };
}

/// Runs `call`; a panic inside it becomes `Err` with the panic's message.
///
/// Meant for a decoder of user bytes that may panic: the caller wraps the
/// message into its own error naming the file. State the call touched may
/// be half-updated after a panic, so `call` should own or discard it.
///
/// ```
/// let fine = mlrig_core::catch_panic(|| 1 + 1);
/// assert_eq!(fine, Ok(2));
/// let caught = mlrig_core::catch_panic(|| -> u8 { panic!("corrupt page") });
/// assert_eq!(caught, Err("corrupt page".to_string()));
/// ```
pub fn catch_panic<T>(call: impl FnOnce() -> T) -> Result<T, String> {
    CATCHING.with(|n| n.set(n.get().saturating_add(1)));
    let result = std::panic::catch_unwind(AssertUnwindSafe(call));
    CATCHING.with(|n| n.set(n.get().saturating_sub(1)));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string())
    })
}

/// Installs a panic hook that stays silent for panics inside
/// [`catch_panic`] (they are reported as errors) and hands every other
/// panic to the hook that was installed before. Call it once, early in a
/// binary's `main` (the `mlrig` CLI does).
///
/// ```
/// mlrig_core::quiet_caught_panics();
/// // Nothing is printed for this panic; the error carries its message.
/// assert!(mlrig_core::catch_panic(|| -> u8 { panic!("bad") }).is_err());
/// ```
pub fn quiet_caught_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if CATCHING.with(|n| n.get()) == 0 {
            previous(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_catches_restore_the_count() {
        let outer = catch_panic(|| {
            let inner = catch_panic(|| -> u8 { panic!("inner") });
            assert_eq!(inner, Err("inner".to_string()));
            CATCHING.with(|n| n.get())
        });
        assert_eq!(outer, Ok(1));
        assert_eq!(CATCHING.with(|n| n.get()), 0);
        let formatted = catch_panic(|| -> u8 { panic!("page {}", 3) });
        assert_eq!(formatted, Err("page 3".to_string()));
    }
}
