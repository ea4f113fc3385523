//! Points that may be fractional (partial credit, weights, negative marking),
//! counted in thousandths so sums and grades are exact integer arithmetic.
//!
//! Whole numbers are written and shown as before (`3`, not `3.0`), so results of
//! tests without fractional scoring are the same bytes and the same grades they
//! always were; a fraction is written with up to three decimals (`2.5`, `0.333`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Thousandths in a point.
const SCALE: i64 = 1000;

/// A number of points, to three decimals. Signed, so a question's negative marking
/// can be summed before the test total is clamped at 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(i64);

impl Points {
    pub const ZERO: Points = Points(0);

    pub fn whole(n: u32) -> Self {
        Points(i64::from(n) * SCALE)
    }

    /// `points x fraction`, rounded to the nearest thousandth, halves away from 0.
    pub fn of(points: u32, fraction: f64) -> Self {
        let raw = (f64::from(points) * fraction * SCALE as f64).round();
        if raw.is_finite() {
            Points(raw as i64)
        } else {
            Points::ZERO
        }
    }

    /// Thousandths of a point.
    pub fn milli(self) -> i64 {
        self.0
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }

    /// Never below 0 (a test total under negative marking).
    pub fn at_least_zero(self) -> Self {
        Points(self.0.max(0))
    }

    pub fn is_whole(self) -> bool {
        self.0 % SCALE == 0
    }
}

impl std::ops::Add for Points {
    type Output = Points;
    fn add(self, other: Points) -> Points {
        Points(self.0.saturating_add(other.0))
    }
}

impl std::ops::Sub for Points {
    type Output = Points;
    fn sub(self, other: Points) -> Points {
        Points(self.0.saturating_sub(other.0))
    }
}

impl std::iter::Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, |a, b| a + b)
    }
}

impl From<u32> for Points {
    fn from(n: u32) -> Self {
        Points::whole(n)
    }
}

/// Lets a whole number of points be compared with a count (`score.points == 3`).
impl PartialEq<u32> for Points {
    fn eq(&self, other: &u32) -> bool {
        *self == Points::whole(*other)
    }
}

/// `3`, `2.5`, `0.333`, `-0.25`: no trailing zeros.
impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, frac) = (abs / SCALE as u64, abs % SCALE as u64);
        if frac == 0 {
            return write!(f, "{sign}{whole}");
        }
        let decimals = format!("{frac:03}");
        write!(f, "{sign}{whole}.{}", decimals.trim_end_matches('0'))
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_whole() {
            s.serialize_i64(self.0 / SCALE)
        } else {
            s.serialize_f64(self.as_f64())
        }
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = f64::deserialize(d)?;
        let raw = (n * SCALE as f64).round();
        if raw.is_finite() && raw.abs() < 9.0e15 {
            Ok(Points(raw as i64))
        } else {
            Err(serde::de::Error::custom(format!(
                "{n} is not a number of points"
            )))
        }
    }
}

/// `points / total x max_grade`, rounded to the nearest integer, halves up, on the
/// points as stored (thousandths), so the grade is the one a reader of the result
/// computes. Whole points give what [`super::grading::round_half_up`] gives.
pub fn grade_of(points: Points, total: u32, max_grade: u32) -> u32 {
    if total == 0 {
        return 0;
    }
    let earned = i128::from(points.0.clamp(0, i64::from(total) * SCALE));
    let (total, max) = (i128::from(total) * i128::from(SCALE), i128::from(max_grade));
    let grade = (2 * earned * max + total) / (2 * total);
    u32::try_from(grade).unwrap_or(max_grade)
}

/// Points as a percentage of the total with one decimal.
pub fn percentage_of(points: Points, total: u32) -> f64 {
    if total == 0 {
        return 0.0;
    }
    (points.as_f64() * 1000.0 / f64::from(total)).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::grading::{percentage, round_half_up};

    #[test]
    fn whole_points_are_written_and_shown_as_integers() {
        assert_eq!(serde_json::to_string(&Points::whole(3)).unwrap(), "3");
        assert_eq!(Points::whole(3).to_string(), "3");
        let p: Points = serde_json::from_str("3").unwrap();
        assert_eq!(p, Points::whole(3));
    }

    #[test]
    fn fractions_keep_three_decimals_without_trailing_zeros() {
        assert_eq!(Points::of(1, 1.0 / 3.0).to_string(), "0.333");
        assert_eq!(Points::of(2, 0.25).to_string(), "0.5");
        assert_eq!(Points::of(4, -0.25).to_string(), "-1");
        assert_eq!(Points::of(1, -0.25).to_string(), "-0.25");
        assert_eq!(serde_json::to_string(&Points::of(5, 0.5)).unwrap(), "2.5");
        let back: Points = serde_json::from_str("2.5").unwrap();
        assert_eq!(back, Points::of(5, 0.5));
    }

    #[test]
    fn grades_of_whole_points_are_those_of_round_half_up() {
        for total in 0..=12u32 {
            for correct in 0..=total {
                for max in [5, 10, 100] {
                    assert_eq!(
                        grade_of(Points::whole(correct), total, max),
                        round_half_up(correct, total, max),
                        "{correct}/{total} of {max}"
                    );
                    assert_eq!(
                        percentage_of(Points::whole(correct), total),
                        percentage(correct, total)
                    );
                }
            }
        }
    }

    #[test]
    fn fractional_grades_round_half_up_on_the_stored_thousandths() {
        // 2.5 / 5 x 5 = 2.5 -> 3; 0.333 / 1 x 5 = 1.665 -> 2; 1.5 / 6 x 5 = 1.25 -> 1.
        assert_eq!(grade_of(Points::of(5, 0.5), 5, 5), 3);
        assert_eq!(grade_of(Points::of(1, 1.0 / 3.0), 1, 5), 2);
        assert_eq!(grade_of(Points::of(3, 0.5), 6, 5), 1);
        assert_eq!(percentage_of(Points::of(3, 0.5), 6), 25.0);
        // Below zero or above the total grade as 0 and the maximum.
        assert_eq!(grade_of(Points::of(1, -0.25), 4, 5), 0);
        assert_eq!(grade_of(Points::whole(9), 4, 5), 5);
    }
}
