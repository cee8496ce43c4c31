//! The allocator's settings the program runs with: `main` sets them first, and the benchmarks
//! of code whose speed depends on them (the UI's model build) set them too, so that they
//! measure what users run.

/// glibc raises its mmap threshold (up to 32 MiB) each time a large block is freed; after the
/// read-ahead buffers and the hot flow table have come and gone, large buffers then come from
/// the heap, and the holes they leave hold the resident size up. A fixed threshold gives each
/// buffer of 256 KiB or more a mapping of its own, returned on free (figures in
/// docs/performance.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn fix_mmap_threshold() {
    const THRESHOLD: i32 = 256 * 1024;
    // SAFETY: mallopt sets a parameter of the allocator and touches no memory of ours; callers
    // run it first in main, before any thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn fix_mmap_threshold() {}
