//! Per-test statistics for the trainer's report.

/// Statistics of the grades of one test.
#[derive(Debug, Clone, PartialEq)]
pub struct TestStats {
    pub submitted: usize,
    pub enrolled: usize,
    /// `None` when nobody submitted.
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub min: Option<u32>,
    pub max: Option<u32>,
    /// `distribution[g]` = how many students got grade `g`, for `g` in `0..=max_grade`.
    pub distribution: Vec<usize>,
}

impl TestStats {
    /// Computes the statistics of `grades` (one per submitting student).
    pub fn of(grades: &[u32], enrolled: usize, max_grade: u32) -> Self {
        let mut sorted = grades.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let mean = (n > 0).then(|| sorted.iter().map(|g| f64::from(*g)).sum::<f64>() / n as f64);
        let median = match n {
            0 => None,
            _ if n % 2 == 1 => Some(f64::from(sorted[n / 2])),
            _ => Some((f64::from(sorted[n / 2 - 1]) + f64::from(sorted[n / 2])) / 2.0),
        };
        let buckets = usize::try_from(max_grade).unwrap_or(0) + 1;
        let mut distribution = vec![0; buckets];
        for g in &sorted {
            let i = usize::try_from(*g).unwrap_or(usize::MAX).min(buckets - 1);
            distribution[i] += 1;
        }
        Self {
            submitted: n,
            enrolled,
            mean,
            median,
            min: sorted.first().copied(),
            max: sorted.last().copied(),
            distribution,
        }
    }
}

/// How one question of a test went: the fraction of its points earned, summed
/// over the students who were given it (the report's "percent correct").
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionRate {
    pub question_id: crate::ids::QuestionId,
    pub earned: f64,
    pub students: usize,
}

impl QuestionRate {
    /// Percent of the question's points earned, 0 when nobody was given it.
    pub fn percent(&self) -> f64 {
        if self.students == 0 {
            0.0
        } else {
            100.0 * self.earned / self.students as f64
        }
    }

    /// Adds one student's result for this question.
    pub fn add(&mut self, is_correct: bool) {
        self.earned += earned(is_correct);
        self.students += 1;
    }
}

/// The fraction of a question's points a result earned. All or nothing until
/// results carry partial credit; then this is the one line that changes.
fn earned(is_correct: bool) -> f64 {
    if is_correct {
        1.0
    } else {
        0.0
    }
}

/// Per question, in order of first appearance, from each result's
/// (question, correct) pairs.
pub fn question_rates<I, Q>(results: I) -> Vec<QuestionRate>
where
    I: IntoIterator<Item = Q>,
    Q: IntoIterator<Item = (crate::ids::QuestionId, bool)>,
{
    let mut rates: Vec<QuestionRate> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for result in results {
        for (question_id, is_correct) in result {
            let i = *index.entry(question_id.clone()).or_insert_with(|| {
                rates.push(QuestionRate {
                    question_id,
                    earned: 0.0,
                    students: 0,
                });
                rates.len() - 1
            });
            rates[i].add(is_correct);
        }
    }
    rates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_an_odd_number_of_grades() {
        let s = TestStats::of(&[5, 1, 3], 4, 5);
        assert_eq!((s.submitted, s.enrolled), (3, 4));
        assert_eq!(s.mean, Some(3.0));
        assert_eq!(s.median, Some(3.0));
        assert_eq!((s.min, s.max), (Some(1), Some(5)));
        assert_eq!(s.distribution, vec![0, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn median_of_an_even_number_of_grades_is_the_middle_mean() {
        let s = TestStats::of(&[4, 2, 5, 3], 4, 5);
        assert_eq!(s.median, Some(3.5));
        assert_eq!(s.mean, Some(3.5));
    }

    #[test]
    fn percent_correct_per_question_counts_only_the_students_given_it() {
        let q = |s: &str| crate::ids::QuestionId::parse(s).unwrap();
        // Three results: q1 right, wrong, right; q2 wrong, right (drawn by two);
        // q3 wrong once.
        let rates = question_rates(vec![
            vec![(q("1"), true), (q("2"), false)],
            vec![(q("1"), false), (q("3"), false)],
            vec![(q("2"), true), (q("1"), true)],
        ]);
        let got: Vec<(String, usize, String)> = rates
            .iter()
            .map(|r| {
                (
                    r.question_id.to_string(),
                    r.students,
                    format!("{:.1}", r.percent()),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("1".into(), 3, "66.7".into()),
                ("2".into(), 2, "50.0".into()),
                ("3".into(), 1, "0.0".into()),
            ]
        );
    }

    #[test]
    fn nobody_submitted_gives_empty_statistics() {
        let s = TestStats::of(&[], 7, 5);
        assert_eq!((s.submitted, s.enrolled), (0, 7));
        assert_eq!((s.mean, s.median, s.min, s.max), (None, None, None, None));
        assert_eq!(s.distribution.iter().sum::<usize>(), 0);
        assert_eq!(s.distribution.len(), 6);
    }
}
