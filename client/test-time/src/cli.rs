//! Command-line interface.

use clap::{Parser, Subcommand};
use ework_domain::ids::{SubjectName, TestId};
use std::path::PathBuf;

/// Take your weekly Ework test in the terminal.
///
/// Without a command, lists your open tests, lets you pick one, asks the questions
/// one by one, shows a review and submits. The first run asks for the API URL,
/// your key and your student id and saves them.
#[derive(Debug, Parser)]
#[command(name = "test-time", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// API URL from your trainer (e.g. https://abc.execute-api.eu-central-1.amazonaws.com/prod).
    #[arg(long, env = "TEST_TIME_API_URL", global = true)]
    pub api_url: Option<String>,
    /// Your personal API key.
    #[arg(long, env = "TEST_TIME_API_KEY", global = true, hide_env_values = true)]
    pub api_key: Option<String>,
    /// Your student id as on the roster (e.g. student01).
    #[arg(long, env = "TEST_TIME_STUDENT_ID", global = true)]
    pub student_id: Option<String>,
    /// Config file to use instead of the one in your config directory.
    #[arg(long, env = "TEST_TIME_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seconds to wait for the API.
    #[arg(
        long,
        env = "TEST_TIME_TIMEOUT",
        global = true,
        default_value_t = 30,
        value_name = "SECONDS"
    )]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Option<Command>,
}

pub const EXIT_CODES: &str = "Exit codes: 0 ok, 1 other failure or not submitted, 2 bad usage, \
3 key or student id refused, 4 test closed, 5 network failure, 6 server error, 7 request rejected (e.g. unknown test).";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take a test interactively (the default).
    Take {
        /// Subject to take a test in (asked when not given).
        subject: Option<SubjectName>,
        /// Test to take (asked when not given).
        #[arg(requires = "subject")]
        test: Option<TestId>,
    },
    /// List your open tests.
    List {
        /// Print the API's JSON listing (for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Show the questions of an open test.
    Show {
        subject: SubjectName,
        test: TestId,
        #[arg(long)]
        json: bool,
    },
    /// Submit answers without questions asked.
    Submit {
        subject: SubjectName,
        test: TestId,
        /// Answers in question order, comma-separated (`a,c,-,b`: `-` or nothing leaves a
        /// question unanswered), or by question id (`1=a,2=c`).
        #[arg(
            long,
            required_unless_present = "answers_file",
            conflicts_with = "answers_file"
        )]
        answers: Option<String>,
        /// File with the answers in the same form, commas or new lines between them.
        #[arg(long, value_name = "FILE")]
        answers_file: Option<PathBuf>,
        /// Print the receipt as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the configuration (key masked), or change it.
    Config {
        /// Ask for each value again and save.
        #[arg(long)]
        edit: bool,
        /// Save the values given by flags / environment / files to the config file.
        #[arg(long, conflicts_with = "edit")]
        save: bool,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    Man,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ids_are_checked_when_the_arguments_are_parsed() {
        let err = Cli::try_parse_from(["test-time", "show", "../etc", "t1"]).unwrap_err();
        assert!(err.to_string().contains("subjectName"), "{err}");
        assert!(Cli::try_parse_from(["test-time", "submit", "os", "t1"]).is_err());
    }
}
