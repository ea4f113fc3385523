//! glibc's malloc arenas, capped for processes that run the local store.
//!
//! glibc gives each thread that allocates under contention an arena of its own, up
//! to 8 per core, and an arena keeps what is freed in it for reuse instead of
//! giving it back to the system. The local store does its file IO and encryption
//! on tokio's blocking threads (about 16 of them while a scoring pass reads), and a
//! pass seals results objects of a few MB there: each thread's arena ends up
//! holding buffers of that size. Measured by the scorer bench at 80,000
//! submissions, that was 165-178 MiB resident for a pass whose heap peaks at 63 MiB;
//! with two arenas it is 93 MiB, in the same time within the noise
//! (docs/performance.md). Fewer blocking threads would cap it too, but would also
//! cap the local API's concurrent fsyncs; the arenas are what holds the memory.

/// Arenas for the whole process: the main one and one more, shared by every other
/// thread. Allocation here is not the bottleneck (file IO and AES-GCM are).
pub const MAX_ARENAS: i32 = 2;

/// Caps glibc's malloc arenas at [`MAX_ARENAS`]. Call it first thing in `main`,
/// before any thread is started: glibc fixes its arena limit when a second thread
/// first needs an arena, and ignores a later change. A `MALLOC_ARENA_MAX` set in
/// the environment is left to win, so the setting can still be measured or tuned.
/// Returns whether the cap was set (never, outside glibc).
pub fn cap_malloc_arenas() -> bool {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return false;
    }
    cap()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn cap() -> bool {
    // SAFETY: mallopt only sets a tuning parameter of the allocator; it is called
    // before other threads exist (see above), and returns 1 on success.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, MAX_ARENAS) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn cap() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_the_arena_cap_unless_the_environment_sets_one() {
        let set_by_environment = std::env::var_os("MALLOC_ARENA_MAX").is_some();
        assert_eq!(cap_malloc_arenas(), !set_by_environment);
    }
}
