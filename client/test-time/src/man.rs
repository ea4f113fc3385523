//! The man page: clap_mangen's title, synopsis, description and options, then the
//! commands described in place (clap_mangen would point at a page per command, and
//! those pages are not generated), then EXAMPLES, FILES, ENVIRONMENT and EXIT STATUS.

use crate::cli::{Cli, SECTIONS};
use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;
use std::io::Write;

/// Renders the whole page.
pub fn render(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = Cli::command();
    let man = Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;

    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut sub = sub
            .clone()
            .bin_name(format!("test-time {}", sub.get_name()));
        let usage = sub.render_usage().to_string();
        let usage = usage.trim_start_matches("Usage:").trim();
        roff.control("TP", []);
        roff.text([bold(usage)]);
        let about = sub
            .get_long_about()
            .or_else(|| sub.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        let mut lines = about.lines();
        if let Some(first) = lines.next() {
            roff.text([roman(first)]);
        }
        // A long description (list --json) keeps its layout.
        let rest: Vec<&str> = lines.skip_while(|l| l.is_empty()).collect();
        if !rest.is_empty() {
            roff.control("RS", []);
            roff.control("nf", []);
            for line in rest {
                roff.text([roman(line)]);
            }
            roff.control("fi", []);
            roff.control("RE", []);
        }
        let args: Vec<_> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .collect();
        if !args.is_empty() {
            roff.control("RS", []);
            for arg in args {
                let name = match (arg.get_long(), arg.get_value_names()) {
                    (Some(long), Some(values)) if arg.get_action().takes_values() => {
                        format!("--{long} <{}>", values.join(" "))
                    }
                    (Some(long), _) => format!("--{long}"),
                    (None, Some(values)) => format!("<{}>", values.join(" ")),
                    (None, None) => format!("<{}>", arg.get_id().as_str().to_uppercase()),
                };
                roff.control("TP", []);
                roff.text([bold(name)]);
                if let Some(help) = arg.get_long_help().or_else(|| arg.get_help()) {
                    roff.text([roman(help.to_string())]);
                }
            }
            roff.control("RE", []);
        }
    }
    for section in SECTIONS {
        roff.control("SH", [section.title]);
        for (term, meaning) in section.entries {
            roff.control("TP", []);
            roff.text([bold(*term)]);
            roff.text([roman(*meaning)]);
        }
    }
    roff.to_writer(out)?;
    man.render_version_section(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> String {
        let mut out = Vec::new();
        render(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_page_has_the_reference_sections_and_every_command() {
        let page = page();
        assert!(
            page.starts_with(".ie") || page.contains(".TH test-time"),
            "{page}"
        );
        for section in [
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH COMMANDS",
            ".SH EXAMPLES",
            ".SH FILES",
            ".SH ENVIRONMENT",
            ".SH \"EXIT STATUS\"",
        ] {
            assert!(page.contains(section), "{section} missing:\n{page}");
        }
        for command in [
            "take",
            "list",
            "show",
            "submit",
            "config",
            "completions",
            "man",
        ] {
            assert!(
                page.contains(&format!("test\\-time {command}")),
                "{command} missing:\n{page}"
            );
        }
        assert!(page.contains("\\-\\-draft"), "{page}");
        assert!(
            page.contains("unsentDraft"),
            "list --json is described:\n{page}"
        );
    }

    #[test]
    fn the_page_points_at_no_other_page() {
        let page = page();
        assert!(
            !page.contains("(1)"),
            "a reference to a page that does not exist:\n{page}"
        );
    }
}
