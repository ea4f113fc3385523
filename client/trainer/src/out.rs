//! Standard output that a closed pipe (`| head`, `| true`) ends quietly instead of
//! with a panic, as in test-time: a write error goes up like any other error and
//! `main` tells a closed output apart.

use std::io::Write;

/// Like `println!`, but returns the write error instead of panicking on it.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}

/// Writes one line to standard output.
pub fn line(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    out.write_all(b"\n")
}

/// Whether the command failed only because its output was closed: the reader wants
/// no more, which is no failure.
pub fn is_closed_output(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_output_is_told_apart_from_other_failures() {
        let closed = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_closed_output(&closed.context("listing the keys")));
        let other = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(!is_closed_output(&other));
        assert!(!is_closed_output(&anyhow::anyhow!("no target")));
    }
}
