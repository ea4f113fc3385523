//! Line-based prompts that work the same on a terminal and with piped stdin.

use crate::render::{wrap, LocalZone, Style};
use std::io::{self, BufRead, Write};

/// Why a prompt got no answer.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("input ended")]
    Ended,
    #[error("cannot read input: {0}")]
    Io(#[from] io::Error),
}

/// The student's side of the conversation.
pub struct Term<R, W> {
    input: R,
    out: W,
    pub style: Style,
    /// Stdin is a terminal: hide key input. Otherwise the answers are echoed so a
    /// piped session's transcript reads like a typed one.
    tty: bool,
    /// Columns of the terminal stdout writes to; `None` (not a terminal) wraps nothing.
    pub width: Option<usize>,
    /// The student's zone, for every time shown.
    pub zone: LocalZone,
}

impl<R: BufRead, W: Write> Term<R, W> {
    pub fn new(input: R, out: W, style: Style, tty: bool) -> Self {
        Term {
            input,
            out,
            style,
            tty,
            width: None,
            zone: LocalZone::Named(chrono_tz::UTC),
        }
    }

    /// Wraps text to `width` columns (the terminal's).
    pub fn with_width(mut self, width: Option<usize>) -> Self {
        self.width = width.filter(|w| *w > 0);
        self
    }

    pub fn with_zone(mut self, zone: LocalZone) -> Self {
        self.zone = zone;
        self
    }

    /// Stdin is a terminal.
    pub fn is_tty(&self) -> bool {
        self.tty
    }

    /// Prints `text` wrapped to the terminal: the first line after `first`, the
    /// others indented by `rest`.
    pub fn say_wrapped(&mut self, first: &str, rest: &str, text: &str) -> io::Result<()> {
        for line in wrap(text, self.width, first, rest) {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    /// Prints a paragraph wrapped to the terminal.
    pub fn tell(&mut self, text: &str) -> io::Result<()> {
        self.say_wrapped("", "", text)
    }

    /// Asks a yes/no question until the answer is clear; Enter takes `default`.
    pub fn confirm(&mut self, question: &str, default: bool) -> Result<bool, InputError> {
        let choices = if default { "[Y/n]" } else { "[y/N]" };
        loop {
            let line = self.ask(&format!("{question} {choices} "))?;
            match line.to_ascii_lowercase().as_str() {
                "" => return Ok(default),
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => {
                    let msg = self.style.yellow(&format!("{line:?}: type y or n."));
                    self.say(&msg)?;
                }
            }
        }
    }

    /// Prints one line.
    pub fn say(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "{text}")
    }

    pub fn out(&mut self) -> &mut W {
        &mut self.out
    }

    /// Asks and returns the trimmed line. End of input is an error, so a script
    /// that runs out of answers stops instead of looping.
    pub fn ask(&mut self, prompt: &str) -> Result<String, InputError> {
        let prompt = self.fit(prompt)?;
        write!(self.out, "{prompt}")?;
        self.out.flush()?;
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            writeln!(self.out)?;
            return Err(InputError::Ended);
        }
        let line = line.trim().to_string();
        if !self.tty {
            writeln!(self.out, "{line}")?;
        }
        Ok(line)
    }

    /// A prompt too long for the terminal: all but its last line printed, the last
    /// line returned to be asked with.
    fn fit(&mut self, prompt: &str) -> io::Result<String> {
        let Some(width) = self.width else {
            return Ok(prompt.to_string());
        };
        if crate::render::width_of(prompt) < width {
            return Ok(prompt.to_string());
        }
        // Keep a few columns free for what is typed after the prompt.
        let mut lines = wrap(prompt.trim_end(), Some(width.saturating_sub(4)), "", "");
        let last = lines.pop().unwrap_or_default();
        for line in lines {
            writeln!(self.out, "{line}")?;
        }
        Ok(format!("{last} "))
    }

    /// Asks for a secret: hidden on a terminal, a plain line when piped.
    pub fn ask_hidden(&mut self, prompt: &str) -> Result<String, InputError> {
        if !self.tty {
            write!(self.out, "{prompt}")?;
            self.out.flush()?;
            let mut line = String::new();
            if self.input.read_line(&mut line)? == 0 {
                writeln!(self.out)?;
                return Err(InputError::Ended);
            }
            writeln!(self.out, "(hidden)")?;
            return Ok(line.trim().to_string());
        }
        self.out.flush()?;
        let secret = rpassword::prompt_password(prompt).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                InputError::Ended
            } else {
                InputError::Io(e)
            }
        })?;
        Ok(secret.trim().to_string())
    }

    /// Asks for a number in `1..=count` until one is given.
    pub fn choose(&mut self, prompt: &str, count: usize) -> Result<usize, InputError> {
        loop {
            let answer = self.ask(&format!("{prompt} [1-{count}]: "))?;
            match answer.parse::<usize>() {
                Ok(n) if (1..=count).contains(&n) => return Ok(n - 1),
                _ => {
                    let msg = format!("{answer:?} is not a number from 1 to {count}; try again.");
                    let painted = self.style.yellow(&msg);
                    self.say(&painted)?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(input: &str) -> Term<&[u8], Vec<u8>> {
        Term::new(input.as_bytes(), Vec::new(), Style { color: false }, false)
    }

    #[test]
    fn choose_asks_again_until_the_number_is_in_range() {
        let mut t = term("0\nx\n3\n2\n");
        assert_eq!(t.choose("Test", 2).unwrap(), 1);
        let out = String::from_utf8(t.out).unwrap();
        assert_eq!(
            out.matches("is not a number from 1 to 2").count(),
            3,
            "{out}"
        );
    }

    #[test]
    fn end_of_input_is_reported_not_looped_on() {
        let mut t = term("7\n");
        assert!(matches!(t.choose("Test", 2), Err(InputError::Ended)));
    }

    #[test]
    fn confirm_takes_the_default_on_enter_and_asks_again_when_unclear() {
        let mut t = term("\nmaybe\nN\n");
        assert!(t.confirm("Resume?", true).unwrap());
        assert!(!t.confirm("Quit?", true).unwrap());
        let out = String::from_utf8(t.out).unwrap();
        assert!(out.contains("Resume? [Y/n] "), "{out}");
        assert!(out.contains("\"maybe\": type y or n."), "{out}");
    }

    #[test]
    fn a_long_prompt_is_wrapped_to_the_terminal() {
        let mut t = term("n\n").with_width(Some(30));
        t.confirm(
            "Quit without sending? Your answers stay in a draft on this computer.",
            false,
        )
        .unwrap();
        let out = String::from_utf8(t.out).unwrap();
        for line in out.lines() {
            assert!(line.chars().count() <= 30, "{line:?}:\n{out}");
        }
        assert!(out.ends_with("[y/N] n\n"), "{out:?}");
    }

    #[test]
    fn piped_answers_are_echoed_and_secrets_are_not() {
        let mut t = term("student01\nsecret-key\n");
        assert_eq!(t.ask("id: ").unwrap(), "student01");
        assert_eq!(t.ask_hidden("key: ").unwrap(), "secret-key");
        let out = String::from_utf8(t.out).unwrap();
        assert_eq!(out, "id: student01\nkey: (hidden)\n");
    }
}
