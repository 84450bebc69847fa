//! Change risk: impact x likelihood.

use std::fmt;

use itsm_kernel::Impact;
use serde::{Deserialize, Serialize};

/// How likely the change is to cause a disruption, as judged when it is raised and again by the
/// change manager's assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Likelihood {
    High,
    Medium,
    Low,
}

/// The risk class of a change. Ordered so that `Low < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Risk {
    Low,
    Medium,
    High,
    Critical,
}

impl Risk {
    /// The risk matrix:
    ///
    /// | impact \ likelihood | high | medium | low |
    /// |---|---|---|---|
    /// | high   | Critical | High   | Medium |
    /// | medium | High     | Medium | Low    |
    /// | low    | Medium   | Low    | Low    |
    ///
    /// Only a high impact that is likely to happen is critical; a low impact is never worse than
    /// medium.
    pub const fn from_matrix(impact: Impact, likelihood: Likelihood) -> Risk {
        match (impact, likelihood) {
            (Impact::High, Likelihood::High) => Risk::Critical,
            (Impact::High, Likelihood::Medium) | (Impact::Medium, Likelihood::High) => Risk::High,
            (Impact::High, Likelihood::Low)
            | (Impact::Medium, Likelihood::Medium)
            | (Impact::Low, Likelihood::High) => Risk::Medium,
            (Impact::Medium | Impact::Low, Likelihood::Low) | (Impact::Low, Likelihood::Medium) => {
                Risk::Low
            }
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMPACTS: [Impact; 3] = [Impact::High, Impact::Medium, Impact::Low];
    const LIKELIHOODS: [Likelihood; 3] = [Likelihood::High, Likelihood::Medium, Likelihood::Low];

    #[test]
    fn only_a_likely_high_impact_is_critical() {
        let critical: Vec<_> = IMPACTS
            .iter()
            .flat_map(|i| LIKELIHOODS.iter().map(move |l| (*i, *l)))
            .filter(|(i, l)| Risk::from_matrix(*i, *l) == Risk::Critical)
            .collect();
        assert_eq!(critical, vec![(Impact::High, Likelihood::High)]);
        assert_eq!(Risk::from_matrix(Impact::Low, Likelihood::Low), Risk::Low);
    }

    #[test]
    fn the_risk_matrix_is_symmetric_and_never_falls_as_either_axis_rises() {
        for (i, impact) in IMPACTS.iter().enumerate() {
            for (l, likelihood) in LIKELIHOODS.iter().enumerate() {
                let risk = Risk::from_matrix(*impact, *likelihood);
                assert_eq!(risk, Risk::from_matrix(IMPACTS[l], LIKELIHOODS[i]));
                if i > 0 {
                    assert!(Risk::from_matrix(IMPACTS[i - 1], *likelihood) >= risk);
                }
                if l > 0 {
                    assert!(Risk::from_matrix(*impact, LIKELIHOODS[l - 1]) >= risk);
                }
            }
        }
        assert_eq!(Risk::High.to_string(), "high");
    }
}
