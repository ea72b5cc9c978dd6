//! Tunes the C allocator once at start-up (Linux with glibc), before any task runs, so
//! memory freed after a large job goes back to the OS instead of staying in the process.
//!
//! glibc serves blocks above a threshold from their own mappings (returned on free), but
//! raises that threshold to the largest such block ever freed: after one 1 MiB job, every
//! later 1 MiB document comes from the heap arenas, one per thread, which keep what was
//! freed. A fixed threshold and two arenas keep a long-running agent's footprint near
//! what it holds at the moment.

/// Blocks from this size on get their own mapping (also fixes glibc's threshold).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;
/// Heap arenas at most (glibc's default is eight per core).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 2;

/// Applies the settings; a no-op where the allocator is not glibc's.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt only changes allocator parameters; it is called once, early, and
    // takes plain integers. A refusal (return 0) leaves glibc's defaults, which is fine.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}
