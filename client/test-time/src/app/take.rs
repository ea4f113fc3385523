//! `test-time` / `test-time take`: choose a test, answer it with a draft kept, review, send.

use super::show::{own_window, print_header, submitted_answers};
use super::submit::{new_draft, resend_command};
use super::{client, warn, AppError, Context, Kept};
use crate::api::{ApiClient, TestPage};
use crate::choice::{self, Choice, Upload};
use crate::config::Config;
use crate::deadline::{deadline, late_warning};
use crate::draft::{Draft, Drafts};
use crate::flow::{self, Decision};
use crate::interrupt::{self, Phase};
use crate::prompt::{InputError, Term};
use crate::render::{moment, wrap};
use chrono::{DateTime, FixedOffset, Utc};
use ework_domain::api::contract::{LateWindow, SubjectTests};
use ework_domain::ids::{SubjectName, TestId};
use ework_domain::model::Question;
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Offers the unsent drafts of open tests; returns the one to resume.
pub(super) fn offer_drafts<'d, R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    drafts: &[&'d Draft],
) -> Result<Option<&'d Draft>, AppError> {
    let zone = term.zone;
    let describe = |d: &Draft| {
        format!(
            "{} / {}: {} answered, saved {}",
            d.subject_name,
            d.test_id,
            d.answered(),
            moment(d.saved_at, &zone)
        )
    };
    match drafts {
        [] => Ok(None),
        [only] => {
            term.say("")?;
            term.tell(&format!("You have unsent answers: {}.", describe(only)))?;
            Ok(term.confirm("Resume them?", true)?.then_some(*only))
        }
        many => {
            term.say("")?;
            term.say("You have unsent answers:")?;
            for (i, d) in many.iter().enumerate() {
                term.say_wrapped(&format!("  {}. ", i + 1), "     ", &describe(d))?;
            }
            loop {
                let line = term.ask(&format!(
                    "Resume which? [1-{}, Enter = choose another test]: ",
                    many.len()
                ))?;
                if line.is_empty() {
                    return Ok(None);
                }
                match line.parse::<usize>() {
                    Ok(n) if (1..=many.len()).contains(&n) => return Ok(Some(many[n - 1])),
                    _ => warn(
                        term,
                        &format!(
                            "{line:?}: type a number from 1 to {}, or Enter.",
                            many.len()
                        ),
                    )?,
                }
            }
        }
    }
}

/// Keeps the draft of one attempt: saved after every change, from the first answer on.
struct Keeper<'a> {
    drafts: &'a Drafts,
    template: Draft,
    questions: &'a [Question],
    saved: Option<PathBuf>,
    warned: bool,
}

impl Keeper<'_> {
    fn save(&mut self, answers: &[Option<Choice>], position: usize) -> Option<PathBuf> {
        let draft = Draft {
            saved_at: Utc::now(),
            position,
            test_result: choice::given_answers(self.questions, answers),
            ..self.template.clone()
        };
        match self.drafts.save(&draft) {
            Ok(path) => {
                interrupt::draft_saved(path.clone());
                self.saved = Some(path.clone());
                Some(path)
            }
            Err(e) => {
                if !self.warned {
                    self.warned = true;
                    let _ = writeln!(
                        std::io::stderr(),
                        "warning: {e}; your answers are only in this window until they are sent"
                    );
                }
                None
            }
        }
    }

    fn kept(&self, resend: &str) -> Option<Kept> {
        self.saved.clone().map(|path| Kept {
            path,
            resend: resend.to_string(),
        })
    }
}

/// The test chosen, and the draft of it the student chose to resume.
struct Chosen {
    subject: SubjectName,
    test: TestId,
    resumed: Option<Draft>,
}

pub(super) fn take<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    ctx: &Context,
    config: &Config,
    subject: Option<SubjectName>,
    test: Option<TestId>,
    greet: bool,
) -> Result<(), AppError> {
    let api = client(config, ctx.timeout)?;
    let listing = ctx.waiting.run("Loading your open tests…", || {
        api.list_tests(&config.student_id)
    })?;
    if greet {
        term.say(&format!("Hello {}!", listing.name_of(&config.student_id)))?;
    }
    let listing = listing.subjects;
    let drafts = ctx.drafts();
    let unsent = unsent_of_open_tests(&drafts, config, &listing);
    // With a test named too, the API says what is wrong with it (closed, unknown).
    if let (Some(s), None) = (&subject, &test) {
        require_open_subject(&listing, s)?;
    }
    let Some(Chosen {
        subject,
        test,
        resumed,
    }) = choose(term, &listing, &unsent, subject, test)?
    else {
        term.tell("No open tests for you right now. See you next week!")?;
        return Ok(());
    };
    let summary = listing
        .iter()
        .filter(|l| l.subject == subject)
        .flat_map(|l| &l.tests)
        .find(|x| x.test_id == test);
    let submitted = summary.is_some_and(|x| x.submitted);
    let page = ctx.waiting.run("Loading the test…", || {
        api.get_test(&config.student_id, &subject, &test)
    })?;
    let questions = &page.questions;
    print_header(
        term,
        (page.info.as_ref(), summary),
        &subject,
        &test,
        questions,
    )?;
    let draft = match resumed {
        Some(d) => Some(d),
        None => draft_to_continue(term, &drafts, config, &subject, &test, questions.len())?,
    };
    let (mut answers, start) = starting_answers(term, &page, draft.as_ref(), submitted)?;

    let resend = resend_command(&subject, &test);
    let mut keeper = Keeper {
        drafts: &drafts,
        template: new_draft(config, &page, &subject, &test),
        questions,
        saved: None,
        warned: false,
    };
    if draft.is_some() {
        keeper.saved = Some(drafts.path(&config.student_id, &subject, &test));
    }
    let attempt = Attempt {
        submitted,
        window: own_window(page.info.as_ref(), summary),
        resend: &resend,
    };
    answer(term, &mut keeper, &mut answers, start, &attempt)?;
    let request = Upload {
        subject_name: subject,
        test_id: test,
        student_id: config.student_id.clone(),
        test_result: choice::given_answers(questions, &answers),
    };
    // Kept before sending: a failure below loses nothing.
    keeper.save(&answers, questions.len());
    send(term, ctx, &api, &keeper, &request, &resend)
}

/// The student's unsent drafts of tests that are still open.
fn unsent_of_open_tests(drafts: &Drafts, config: &Config, listing: &[SubjectTests]) -> Vec<Draft> {
    let is_open = |s: &SubjectName, t: &TestId| {
        listing
            .iter()
            .any(|l| &l.subject == s && l.tests.iter().any(|x| &x.test_id == t))
    };
    drafts
        .of_student(&config.student_id, &config.api_url)
        .into_iter()
        .filter(|d| is_open(&d.subject_name, &d.test_id))
        .collect()
}

/// Refuses a subject without an open test, naming the subjects that have one.
fn require_open_subject(listing: &[SubjectTests], subject: &SubjectName) -> Result<(), AppError> {
    if listing
        .iter()
        .any(|l| &l.subject == subject && !l.tests.is_empty())
    {
        return Ok(());
    }
    Err(AppError::NoSuchSubject {
        subject: subject.clone(),
        open: listing
            .iter()
            .filter(|l| !l.tests.is_empty())
            .map(|l| l.subject.clone())
            .collect(),
    })
}

/// The test named on the command line, else a draft to resume, else one chosen from
/// the open tests (of the named subject); nothing when no test is open.
fn choose<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    listing: &[SubjectTests],
    unsent: &[Draft],
    subject: Option<SubjectName>,
    test: Option<TestId>,
) -> Result<Option<Chosen>, AppError> {
    let subject = match (subject, test) {
        (Some(subject), Some(test)) => {
            return Ok(Some(Chosen {
                subject,
                test,
                resumed: None,
            }))
        }
        (subject, _) => subject,
    };
    let now = Utc::now();
    let offered: Vec<&Draft> = unsent
        .iter()
        .filter(|d| subject.as_ref().is_none_or(|s| &d.subject_name == s))
        .collect();
    if let Some(d) = offer_drafts(term, &offered)? {
        return Ok(Some(Chosen {
            subject: d.subject_name.clone(),
            test: d.test_id.clone(),
            resumed: Some(d.clone()),
        }));
    }
    let shown: Vec<SubjectTests> = listing
        .iter()
        .filter(|l| subject.as_ref().is_none_or(|s| &l.subject == s))
        .cloned()
        .collect();
    let drafted = |s: &SubjectName, t: &TestId| {
        unsent
            .iter()
            .any(|d| &d.subject_name == s && &d.test_id == t)
    };
    Ok(
        flow::choose_test(term, &shown, now, &drafted)?.map(|chosen| Chosen {
            subject: chosen.subject,
            test: chosen.test.test_id,
            resumed: None,
        }),
    )
}

/// The unsent draft of this test, if the student wants to continue from it.
fn draft_to_continue<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    drafts: &Drafts,
    config: &Config,
    subject: &SubjectName,
    test: &TestId,
    count: usize,
) -> Result<Option<Draft>, AppError> {
    let zone = term.zone;
    match drafts.load(&config.student_id, subject, test) {
        Ok(Some(d)) if d.api_url == config.api_url => {
            let question = format!(
                "You have unsent answers to this test ({} of {count} answered, saved {}). Continue from them?",
                d.answered(),
                moment(d.saved_at, &zone)
            );
            Ok(term.confirm(&question, true)?.then_some(d))
        }
        Ok(_) => Ok(None),
        Err(e) => {
            warn(term, &format!("{e}; starting without it"))?;
            Ok(None)
        }
    }
}

/// Where to start: the draft, else what was submitted, else nothing; says which.
fn starting_answers<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    page: &TestPage,
    draft: Option<&Draft>,
    submitted: bool,
) -> Result<(Vec<Option<Choice>>, usize), AppError> {
    let questions = &page.questions;
    let from_submission = page
        .submission
        .as_ref()
        .filter(|s| draft.is_none() && !s.test_result.is_empty());
    let (answers, start) = match (draft, from_submission) {
        (Some(d), _) => (d.answers_for(questions), d.position.min(questions.len())),
        (None, Some(s)) => (submitted_answers(s, questions), questions.len()),
        (None, None) => (vec![None; questions.len()], 0),
    };
    if submitted && draft.is_none() {
        warn(
            term,
            "You already submitted this test; you can change your answers until the deadline.",
        )?;
    }
    if from_submission.is_some() {
        term.tell(
            "Your submitted answers are filled in: change any of them at the review by its number.",
        )?;
    } else if start < questions.len() {
        let style = term.style;
        let tip = if questions.iter().any(|q| q.multiple) {
            "Type the letter of your answer; where several answers may be right, a letter adds or removes it and Enter confirms. Enter skips a question, < goes back, ? helps."
        } else {
            "Type the letter of your answer. Enter skips a question, < goes back, ? helps."
        };
        for line in wrap(tip, term.width, "", "") {
            term.say(&style.dim(&line))?;
        }
    }
    Ok((answers, start))
}

/// What the answering needs to know about the attempt besides the answers.
struct Attempt<'a> {
    submitted: bool,
    /// The student's own due and late window.
    window: Option<(DateTime<FixedOffset>, Option<&'a LateWindow>)>,
    resend: &'a str,
}

/// The student's deadline, and the warning that sending now is late, just before
/// the review (where the student decides to send).
fn before_review<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    window: Option<(DateTime<FixedOffset>, Option<&LateWindow>)>,
) -> std::io::Result<()> {
    let Some((due_at, late)) = window else {
        return Ok(());
    };
    let (now, zone) = (Utc::now(), term.zone);
    term.say("")?;
    term.say_wrapped("Due ", "    ", &deadline(due_at, late, now, &zone))?;
    if let Some(warning) = late_warning(due_at, late, now) {
        let style = term.style;
        for line in wrap(&warning, term.width, "", "") {
            term.say(&style.yellow(&line))?;
        }
    }
    Ok(())
}

/// Asks every question from `start`, then the review; the draft is saved after each
/// change. Quitting keeps the answers given and ends with [`AppError::Quit`].
fn answer<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    keeper: &mut Keeper,
    answers: &mut [Option<Choice>],
    start: usize,
    attempt: &Attempt,
) -> Result<(), AppError> {
    let (submitted, resend) = (attempt.submitted, attempt.resend);
    let questions = keeper.questions;
    interrupt::set(Phase::Answering {
        draft: keeper.saved.clone(),
        resend: resend.to_string(),
    });
    let ended = |keeper: &Keeper, e: InputError| match e {
        InputError::Ended => AppError::InputEnded {
            kept: keeper.kept(resend),
        },
        InputError::Io(e) => AppError::Io(e),
    };
    let answered = {
        let mut on_change = |a: &[Option<Choice>], at: usize| {
            keeper.save(a, at);
        };
        flow::answer_all(term, questions, answers, start, &mut on_change)
    };
    answered.map_err(|e| ended(keeper, e))?;
    before_review(term, attempt.window)?;
    let decision = {
        let mut on_change = |a: &[Option<Choice>], at: usize| {
            keeper.save(a, at);
        };
        flow::review(term, questions, answers, submitted, &mut on_change)
    };
    if decision.map_err(|e| ended(keeper, e))? != Decision::Quit {
        return Ok(());
    }
    interrupt::set(Phase::Idle);
    term.say("")?;
    if answers.iter().any(Option::is_some) {
        keeper.save(answers, questions.len());
    }
    let text = match keeper.kept(resend) {
        Some(kept) => format!(
            "Nothing sent. Your answers are kept in {}: run `test-time` to resume them, or send them with `{}`.",
            kept.path.display(),
            kept.resend
        ),
        None => "Nothing sent.".to_string(),
    };
    term.tell(&text)?;
    Err(AppError::Quit)
}

/// Sends the answers, offering to try again after a transient failure; the draft
/// goes once the API stored them.
fn send<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    ctx: &Context,
    api: &ApiClient,
    keeper: &Keeper,
    request: &Upload,
    resend: &str,
) -> Result<(), AppError> {
    let resend = resend.to_string();
    loop {
        interrupt::set(Phase::Sending {
            draft: keeper.saved.clone(),
            resend: resend.clone(),
        });
        let outcome = ctx
            .waiting
            .run("Sending your answers…", || api.upload(request));
        interrupt::set(Phase::Answering {
            draft: keeper.saved.clone(),
            resend: resend.clone(),
        });
        match outcome {
            Ok(uploaded) => {
                interrupt::set(Phase::Idle);
                let (student, subject, test) =
                    (&request.student_id, &request.subject_name, &request.test_id);
                if let Err(e) = keeper.drafts.remove(student, subject, test) {
                    warn(term, &format!("{e}"))?;
                }
                flow::show_receipt(
                    term,
                    &uploaded.receipt,
                    uploaded.message.as_deref(),
                    &request.test_result,
                )?;
                return Ok(());
            }
            Err(e) => {
                term.say("")?;
                warn(term, &format!("Not sent: {e}"))?;
                if let Some(path) = &keeper.saved {
                    term.tell(&format!("Your answers are kept in {}.", path.display()))?;
                }
                if e.is_transient() && term.confirm("Try sending again?", true).unwrap_or(false) {
                    continue;
                }
                interrupt::set(Phase::Idle);
                return Err(AppError::NotSent {
                    source: e,
                    kept: keeper.kept(&resend),
                });
            }
        }
    }
}
