//! Giving freed memory back to the operating system, with glibc's allocator (on other systems
//! nothing here does anything).
//!
//! glibc keeps what a thread frees in that thread's arena for its next allocation, and it raises
//! its threshold for mapping large blocks each time a mapped one is freed, so later large blocks
//! are carved from the arenas too. Under the harness at a million tickets on SQLite that held
//! tens of MiB of freed memory: each database connection's thread kept an arena of its own, and
//! the change feed's pages (about 2 MB of JSON each) stayed in them after being sent
//! (docs/performance.md, "Server memory"). So the threshold is fixed (a block of 128 KiB or more
//! is mapped, and unmapped when freed), and a task hands the arenas' free pages back every
//! second (`server.release_memory_seconds`).

use std::time::Duration;

/// Blocks at least this large are mapped on their own and unmapped when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MAP_FROM_BYTES: libc::c_int = 128 * 1024;

/// Fixes glibc's threshold for mapping large blocks; call it before the runtime starts.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets a parameter of the allocator; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MAP_FROM_BYTES);
    }
}

/// Every `period`, returns the free pages of every arena to the system (0: never).
pub fn spawn_release(period: Duration) {
    if period.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // It walks every arena under its lock: a blocking call, if a short one.
            let _ = tokio::task::spawn_blocking(release).await;
        }
    });
}

fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free memory of the allocator's own to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}
