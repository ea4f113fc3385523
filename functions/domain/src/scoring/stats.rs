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
    fn nobody_submitted_gives_empty_statistics() {
        let s = TestStats::of(&[], 7, 5);
        assert_eq!((s.submitted, s.enrolled), (0, 7));
        assert_eq!((s.mean, s.median, s.min, s.max), (None, None, None, None));
        assert_eq!(s.distribution.iter().sum::<usize>(), 0);
        assert_eq!(s.distribution.len(), 6);
    }
}
