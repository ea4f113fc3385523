//! Command-line interface, and the reference texts `--help` and the man page share.

use clap::{Parser, Subcommand};
use ework_domain::ids::{SubjectName, TestId};
use std::path::PathBuf;

/// Take your weekly Ework test in the terminal.
///
/// Without a command, lists your open tests, lets you pick one, asks the questions
/// one by one, shows a review and submits. The first run asks for the API URL,
/// your key and your student id, checks them with the API and saves them.
///
/// Where several answers may be right ("several answers" next to the question's
/// number), a letter adds the option or takes it out again, `a,c` gives the whole
/// answer, Enter confirms. Questions worth more than a point say so. The due time
/// shown is your own (with an extension, if you have one), followed by the late
/// window and its penalty when the test takes late answers.
///
/// Your answers are kept as a draft on this computer from the first answer on, until
/// the API has stored them: a failed send, Ctrl-C or a closed terminal loses nothing.
/// `test-time` offers to resume an unsent draft; `test-time submit SUBJECT TEST
/// --draft` sends one without questions asked.
#[derive(Debug, Parser)]
#[command(
    name = "test-time",
    version,
    after_help = short_help(),
    after_long_help = long_help()
)]
pub struct Cli {
    /// API URL from your trainer (e.g. https://abc.execute-api.eu-central-1.amazonaws.com/prod).
    #[arg(long, env = "TEST_TIME_API_URL", global = true)]
    pub api_url: Option<String>,
    /// Your personal API key. Prefer the first-run prompt or the environment variable:
    /// a key on the command line ends up in your shell history.
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
    #[command(long_about = LIST_ABOUT)]
    List {
        /// Print the open tests as JSON (for scripts; the fields are described above).
        #[arg(long)]
        json: bool,
    },
    /// Show the questions of an open test, and what you submitted with its receipt.
    Show {
        /// The subject, as `test-time list` shows it.
        subject: SubjectName,
        /// The test id, as `test-time list` shows it.
        test: TestId,
        /// Print the test, its questions and your submission as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Submit answers without questions asked (from the command line, a file or your draft).
    Submit {
        /// The subject, as `test-time list` shows it.
        subject: SubjectName,
        /// The test id, as `test-time list` shows it.
        test: TestId,
        /// Answers in question order, comma-separated (`a,c,-,b`: `-` or nothing leaves a
        /// question unanswered), or by question id (`1=a,2=c`). A multiple-answer
        /// question takes its options with spaces or + between them (`a,b c,-`, `2=b+c`).
        /// In the id form also with commas (`1=a,2=b,c`).
        #[arg(
            long,
            allow_hyphen_values = true,
            required_unless_present_any = ["answers_file", "draft"],
            conflicts_with_all = ["answers_file", "draft"]
        )]
        answers: Option<String>,
        /// File with the answers in the same form, commas or new lines between them (with
        /// one answer per line, a line's commas separate the options of one question).
        #[arg(long, value_name = "FILE", conflicts_with = "draft")]
        answers_file: Option<PathBuf>,
        /// Send the answers kept in this test's draft (left by an interrupted or failed attempt).
        #[arg(long)]
        draft: bool,
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
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

const LIST_ABOUT: &str = "List your open tests.

With --json, prints one object:
  studentId   your student id
  name        your name as the roster has it (when it has one)
  openTests   every test you can still submit, each with
                subject, testId, title
                dueAt        your own deadline (RFC 3339, with the trainer's offset)
                points       the test's total points (when the API sends it)
                late         the late window {until, penalty, floor} (when the
                             test has one)
                submitted    true once the API has stored answers of yours;
                             you can submit again until dueAt
                unsentDraft  true when answers of yours are kept on this computer
                             and not sent yet (`test-time submit SUBJECT TEST --draft`)";

/// One titled list of the reference texts: `(term, meaning)`.
pub struct Section {
    pub title: &'static str,
    pub entries: &'static [(&'static str, &'static str)],
}

pub const EXAMPLES: Section = Section {
    title: "EXAMPLES",
    entries: &[
        ("test-time", "Take a test: choose it, answer, review and submit (asks for the settings on the first run)."),
        ("test-time take operating-systems test01", "Take that test directly."),
        ("test-time list", "Your open tests, their deadlines and whether you submitted them."),
        ("test-time show operating-systems test01", "Its questions, what you submitted and your receipt."),
        ("test-time submit operating-systems test01 --answers a,c,-,b", "Submit in question order; - leaves a question unanswered."),
        ("test-time submit operating-systems test01 --answers 1=a,3=b", "Submit by question id."),
        ("test-time submit operating-systems test01 --answers \"a,b c,-\"", "Question 2 has several answers: b and c."),
        ("test-time submit operating-systems test01 --draft", "Send the answers an interrupted or failed attempt left in its draft."),
        ("test-time config --edit", "Type the API URL, key or student id again."),
        ("TEST_TIME_API_URL=http://127.0.0.1:8080 TEST_TIME_STUDENT_ID=student01 test-time", "Use the local stack without saving anything (the key is asked for, or read from TEST_TIME_API_KEY)."),
    ],
};

pub const FILES: Section = Section {
    title: "FILES",
    entries: &[
        ("~/.config/ework/test-time.conf", "Your settings (apiUrl, apiKey, studentId), mode 0600. On macOS under ~/Library/Application Support/ework/. XDG_CONFIG_HOME moves it."),
        ("~/.config/ework/drafts/STUDENT/SUBJECT/TEST.json", "Unsent answers, mode 0600, kept from your first answer until the API has stored them."),
        ("~/.trainings/config", "The original script's config, read as it is when present."),
    ],
};

pub const ENVIRONMENT: Section = Section {
    title: "ENVIRONMENT",
    entries: &[
        ("TEST_TIME_API_URL, TEST_TIME_API_KEY, TEST_TIME_STUDENT_ID", "Override the config file (as --api-url, --api-key, --student-id do)."),
        ("TEST_TIME_CONFIG", "Another config file (as --config)."),
        ("TEST_TIME_TIMEOUT", "Seconds to wait for the API (as --timeout; default 30)."),
        ("NO_COLOR", "Set and not empty: no colours (there are none unless writing to a terminal)."),
        ("TZ", "Your time zone; deadlines are shown in it, named (CET), and in the trainer's when it differs."),
        ("COLUMNS", "Width to wrap text to; by default the terminal's (nothing is wrapped when not writing to one)."),
        ("XDG_CONFIG_HOME, HOME", "Where the config directory is."),
    ],
};

pub const EXIT_STATUS: Section = Section {
    title: "EXIT STATUS",
    entries: &[
        (
            "0",
            "Done (also when the output was closed early, e.g. by `| head`).",
        ),
        (
            "1",
            "Not submitted (you quit, or input ended), or another failure.",
        ),
        ("2", "Bad usage, e.g. answers that do not fit the test."),
        (
            "3",
            "Key or student id refused (wrong key, not on the roster).",
        ),
        ("4", "Test closed; the message gives the deadline."),
        (
            "5",
            "Network failure or timeout; your answers stay in the draft.",
        ),
        ("6", "Server error; your answers stay in the draft."),
        ("7", "Request rejected, e.g. an unknown subject or test."),
        (
            "130",
            "Interrupted with Ctrl-C; nothing was sent and the draft is kept.",
        ),
    ],
};

/// Every reference section, in man page order.
pub const SECTIONS: [&Section; 4] = [&EXAMPLES, &FILES, &ENVIRONMENT, &EXIT_STATUS];

/// `-h`: the examples and the exit codes, one line each.
fn short_help() -> String {
    let mut text = String::from("Examples:\n");
    for (command, _) in EXAMPLES.entries.iter().take(6) {
        text.push_str(&format!("  {command}\n"));
    }
    let codes: Vec<String> = EXIT_STATUS
        .entries
        .iter()
        .map(|(code, meaning)| {
            let short = meaning.split([';', ',', '(']).next().unwrap_or(meaning);
            format!(
                "{code} {}",
                short.trim().trim_end_matches('.').to_lowercase()
            )
        })
        .collect();
    text.push_str(&format!("\nExit codes: {}.\n", codes.join(", ")));
    text.push_str("More with --help, and in `test-time man`.");
    text
}

/// `--help`: every reference section in full.
fn long_help() -> String {
    let mut text = String::new();
    for section in SECTIONS {
        text.push_str(&format!("{}:\n", title_case(section.title)));
        for (term, meaning) in section.entries {
            text.push_str(&format!("  {term}\n          {meaning}\n"));
        }
        text.push('\n');
    }
    text.trim_end().to_string()
}

fn title_case(title: &str) -> String {
    let lower = title.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
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

    #[test]
    fn answers_may_start_with_an_unanswered_question() {
        assert!(
            Cli::try_parse_from(["test-time", "submit", "os", "t1", "--answers", "-,a"]).is_ok()
        );
    }

    #[test]
    fn submit_takes_answers_a_file_or_the_draft_but_only_one() {
        assert!(Cli::try_parse_from(["test-time", "submit", "os", "t1", "--draft"]).is_ok());
        assert!(Cli::try_parse_from([
            "test-time",
            "submit",
            "os",
            "t1",
            "--draft",
            "--answers",
            "a"
        ])
        .is_err());
    }

    #[test]
    fn help_has_examples_files_environment_and_exit_status() {
        let long = Cli::command().render_long_help().to_string();
        for heading in ["Examples:", "Files:", "Environment:", "Exit status:"] {
            assert!(long.contains(heading), "{heading} in:\n{long}");
        }
        assert!(long.contains("test-time submit operating-systems test01 --draft"));
        let short = Cli::command().render_help().to_string();
        assert!(short.contains("Examples:"), "{short}");
        assert!(short.contains("Exit codes: 0 done"), "{short}");
        assert!(short.contains("130 interrupted with ctrl-c"), "{short}");
    }
}
