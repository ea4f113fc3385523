//! How many connections the gateway may hold: below the process's open-file limit,
//! with a margin for the store's files, so running out of files never reaches the
//! store (which would turn every request into an error) nor `accept`.

/// Files kept back for everything but connections: stdio, the listener, the store's
/// key and lock files, the outbox, the tracing output.
pub const BASE_RESERVE: usize = 64;
/// Files one store call may hold at once (the object, a temp file, a directory walk).
pub const FILES_PER_STORE_CALL: usize = 4;
/// Store calls the scheduler's scorer may have in flight (its read concurrency).
pub const SCORER_STORE_CALLS: usize = 16;
/// Never fewer connections than this, however low the limit (the store then risks
/// running out of files, and answers 503).
pub const MIN_CONNECTIONS: usize = 8;
/// Never more than this, however high the limit: each connection costs memory.
pub const MAX_CONNECTIONS: usize = 16_384;

/// The soft `RLIMIT_NOFILE` of this process; `None` if unlimited or unknown.
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The connection cap for an open-file limit: what is left after the reserve for
/// the store (`in_flight` handler calls and the scorer, each store call holding up
/// to [`FILES_PER_STORE_CALL`]) and for the connections being refused.
pub fn connection_cap(open_files: Option<u64>, in_flight: usize, refusing: usize) -> usize {
    let Some(limit) = open_files else {
        return MAX_CONNECTIONS;
    };
    let reserve = BASE_RESERVE + FILES_PER_STORE_CALL * (in_flight + SCORER_STORE_CALLS) + refusing;
    usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(reserve)
        .clamp(MIN_CONNECTIONS, MAX_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_a_margin_below_the_open_file_limit() {
        let cap = connection_cap(Some(1024), 32, 32);
        assert_eq!(cap, 1024 - (64 + 4 * (32 + 16) + 32));
        assert!(cap < 1024 - 200, "{cap}");
    }

    #[test]
    fn the_cap_stays_within_its_bounds() {
        assert_eq!(connection_cap(Some(100), 32, 32), MIN_CONNECTIONS);
        assert_eq!(connection_cap(Some(1 << 40), 32, 32), MAX_CONNECTIONS);
        assert_eq!(connection_cap(None, 32, 32), MAX_CONNECTIONS);
    }

    #[cfg(unix)]
    #[test]
    fn the_open_file_limit_of_this_process_is_read() {
        assert!(open_file_limit().is_none_or(|n| n > 0));
    }
}
