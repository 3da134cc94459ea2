//! Memory handed back (issue 20). glibc's allocator raises its mmap threshold each time a large
//! mmapped block is freed (up to 32 MiB), so after the first few sign-ins the 19 MiB argon2
//! buffers, and the buffers of a large export, come from the heap and stay there once freed:
//! RSS grew by about 19.5 MB per concurrent sign-in and never came down. Fixing the threshold
//! keeps every block of 4 MiB or more mmapped (returned to the system on free); trimming the
//! heap top beyond 16 MiB and capping the arenas at four keep the rest from piling up.
//!
//! Called once, first thing in `main`, before any thread starts. Elsewhere than glibc it does
//! nothing. `GLIBC_TUNABLES=glibc.malloc.…` set by an operator is overridden by these.

/// Blocks of this size or more are mmapped and given back when freed.
pub const MMAP_THRESHOLD: i32 = 4 * 1024 * 1024;
/// Free memory at the top of the heap beyond this is given back.
pub const TRIM_THRESHOLD: i32 = 16 * 1024 * 1024;
/// At most this many allocator arenas (glibc's default is 8 per core).
pub const ARENA_MAX: i32 = 4;

/// Sets the allocator's thresholds; returns whether all three were accepted.
pub fn return_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; called before other threads.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
                && libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Gives the allocator's free memory back to the system now, from every arena (not only the
/// top of the heap): called when an XLSX or PDF export has finished with its rows, whose many
/// small blocks would otherwise stay in the process, freed but resident, after the export.
/// Returns whether anything was given back. Elsewhere than glibc it does nothing.
pub fn trim() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only returns free pages to the system; it is thread-safe.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn the_allocator_accepts_the_thresholds() {
        assert!(super::return_freed_memory());
    }
}
