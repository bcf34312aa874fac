//! The memory bound of a script run. Rhai's own limits bound one string, array or map, not
//! their total (a map filled by index with large strings stays under each of them), so the
//! process's allocator counts what the thread running a script holds: every byte allocated
//! and not yet freed on that thread since the run began, whatever kind of value holds it. The
//! engine's progress callback, called before each operation, stops the run once the count
//! passes `scripts.max_memory_bytes`; one operation can only add what Rhai's per-value limits
//! let it, so the overshoot is small.
//!
//! Threads not running a script pay one thread-local read per allocation.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

thread_local! {
    /// Bytes held by the run on this thread (`None`: no run, nothing counted). Signed: the run
    /// may free what was allocated before it began.
    static HELD: Cell<Option<isize>> = const { Cell::new(None) };
}

/// The system allocator, counting for the script run on the calling thread.
pub struct CountingAllocator;

fn count(delta: isize) {
    // `try_with`: an allocation while the thread is being torn down is not counted.
    let _ = HELD.try_with(|held| {
        if let Some(bytes) = held.get() {
            held.set(Some(bytes.saturating_add(delta)));
        }
    });
}

// SAFETY: every call is passed to `System` unchanged; counting touches only a `Cell` in a
// const-initialised thread-local, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is forwarded as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        new
    }
}

/// Counting for the run on this thread, from zero until dropped.
pub struct Counting(());

impl Counting {
    pub fn start() -> Counting {
        HELD.with(|held| held.set(Some(0)));
        Counting(())
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        HELD.with(|held| held.set(None));
    }
}

/// Bytes held by the run on this thread (0 when none runs).
pub fn held() -> u64 {
    HELD.with(|held| held.get().unwrap_or(0).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_this_thread_holds_while_counting() {
        let before = vec![0u8; 1 << 20];
        let counting = Counting::start();
        assert!(held() < 1024, "{}", held());
        let mut grown = vec![0u8; 1 << 20];
        assert!(held() >= 1 << 20);
        grown.resize(3 << 20, 1);
        assert!(held() >= 3 << 20);
        // Another thread's allocations are not this run's.
        std::thread::spawn(|| vec![0u8; 8 << 20].len())
            .join()
            .unwrap();
        assert!(held() < 4 << 20, "{}", held());
        drop(grown);
        assert!(held() < 1024, "{}", held());
        drop(before);
        assert_eq!(
            held(),
            0,
            "freeing what was there before the run goes below zero"
        );
        drop(counting);
        let _after = vec![0u8; 1 << 20];
        assert_eq!(held(), 0);
    }
}
