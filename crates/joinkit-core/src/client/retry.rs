//! The one retry rule: exponential backoff inside a time budget (and optionally a number of
//! attempts), honouring a server's hint (`Retry-After`). client-go's `wait.Backoff` and kubeadm's
//! discovery retry (`wait.PollUntilContextTimeout` until the discovery timeout) are the models.
//!
//! What is retryable is the caller's to say, from one rule per layer: discovery retries the
//! failures [`Code::is_retryable`](crate::error::Code::is_retryable) names (the retry contract),
//! the admin API client retries HTTP 429 and 5xx. Every retry loop runs as
//!
//! ```text
//! # use joinkit_core::client::retry::{Policy, Retry};
//! # use std::time::Duration;
//! # async fn attempt() -> Result<(), bool> { Err(false) }
//! # async fn demo() {
//! let mut retry = Retry::new(Policy::polling(Duration::from_millis(10), Duration::from_millis(50)));
//! loop {
//!     let Err(retryable) = attempt().await else { break };
//!     let Some(pause) = retry.pause_after(retryable, None) else { break };
//!     tokio::time::sleep(pause).await;
//! }
//! # }
//! ```
//!
//! The last attempt starts at the end of the budget at the latest: a pause never goes past it.

use std::time::{Duration, Instant};

/// How a loop retries: the first pause, doubled after each attempt up to `max_backoff`; a
/// server's hint is used instead of the backoff, capped at `max_hint`; no attempt starts after
/// `budget` (counted from [`Retry::new`]), and at most `max_attempts` attempts run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// The pause after the first failed attempt.
    pub(crate) first: Duration,
    /// The longest pause the doubling reaches.
    pub(crate) max_backoff: Duration,
    /// The longest pause a server's hint may ask for.
    pub(crate) max_hint: Duration,
    /// No attempt starts later than this after the first.
    pub(crate) budget: Duration,
    /// At most this many attempts (`None`: as many as the budget allows).
    pub(crate) max_attempts: Option<u32>,
}

impl Policy {
    /// kubeadm's discovery retry (`--wait`): 0.5 s doubling to 5 s, for `budget`.
    pub(crate) fn discovery(budget: Duration) -> Policy {
        Policy {
            first: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
            max_hint: Duration::from_secs(5),
            budget,
            max_attempts: None,
        }
    }

    /// The admin API client's retry of 429 and 5xx: 0.2 s doubling to 2 s, `Retry-After` up to
    /// 5 s, at most 5 attempts within `budget`.
    pub(crate) fn api(budget: Duration) -> Policy {
        Policy {
            first: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_hint: Duration::from_secs(5),
            budget,
            max_attempts: Some(5),
        }
    }

    /// Polling at a fixed `interval` until `budget` (waiting for a controller to act).
    pub(crate) fn polling(interval: Duration, budget: Duration) -> Policy {
        Policy { first: interval, max_backoff: interval, max_hint: interval, budget, max_attempts: None }
    }
}

/// A retry loop's state: attempts so far, the next backoff, the start.
#[derive(Debug, Clone)]
pub(crate) struct Retry {
    policy: Policy,
    started: Instant,
    backoff: Duration,
    attempts: u32,
}

impl Retry {
    /// Starts the clock; the first attempt is about to run.
    pub(crate) fn new(policy: Policy) -> Retry {
        Retry { policy, started: Instant::now(), backoff: policy.first, attempts: 1 }
    }

    /// Attempts made so far (1 before the first retry).
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The budget left, from now.
    pub(crate) fn left(&self) -> Duration {
        self.policy.budget.saturating_sub(self.started.elapsed())
    }

    /// After a failed attempt: the pause before the next one, or `None` when the failure is not
    /// `retryable`, the attempts are used up or the budget is spent. `hint` is the server's
    /// `Retry-After`. Counts the next attempt.
    pub(crate) fn pause_after(&mut self, retryable: bool, hint: Option<Duration>) -> Option<Duration> {
        let left = self.left();
        if !retryable || left.is_zero() || self.policy.max_attempts.is_some_and(|m| self.attempts >= m) {
            return None;
        }
        let wanted = match hint {
            Some(h) => h.min(self.policy.max_hint),
            None => self.backoff,
        };
        self.backoff = (self.backoff * 2).min(self.policy.max_backoff);
        self.attempts += 1;
        Some(wanted.min(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_never_passes_the_budget() {
        let mut r = Retry::new(Policy::discovery(Duration::from_secs(3600)));
        let pauses: Vec<u64> = (0..6).map(|_| r.pause_after(true, None).unwrap().as_millis() as u64).collect();
        assert_eq!(pauses, [500, 1000, 2000, 4000, 5000, 5000]);
        assert_eq!(r.attempts(), 7);
        assert_eq!(r.pause_after(false, None), None, "not retryable: stop");

        let mut short = Retry::new(Policy::discovery(Duration::from_millis(300)));
        assert!(short.pause_after(true, None).unwrap() <= Duration::from_millis(300), "cut to the budget");
        let mut spent = Retry::new(Policy::discovery(Duration::ZERO));
        assert_eq!(spent.pause_after(true, None), None);
    }

    #[test]
    fn api_policy_honours_hints_up_to_a_cap_and_counts_attempts() {
        let mut r = Retry::new(Policy::api(Duration::from_secs(3600)));
        assert_eq!(r.pause_after(true, Some(Duration::from_secs(1))), Some(Duration::from_secs(1)));
        assert_eq!(r.pause_after(true, Some(Duration::from_secs(60))), Some(Duration::from_secs(5)));
        assert_eq!(r.pause_after(true, None), Some(Duration::from_millis(800)));
        assert!(r.pause_after(true, None).is_some());
        assert_eq!(r.attempts(), 5);
        assert_eq!(r.pause_after(true, None), None, "at most 5 attempts");
    }
}
