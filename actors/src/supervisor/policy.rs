//! The pure restart decision: restart type, intensity window and exponential backoff with jitter.

use crate::bus::backoff;
pub(crate) use crate::lifecycle::Decision;
use crate::types::ComponentState;
use std::collections::VecDeque;
use std::time::Instant;
use woodwork_parser::{RestartType, SupervisionSpec};

/// Decides for one failure at `now`, given the child's spec and its recent restart times (updated).
pub fn decide(spec: &SupervisionSpec, log: &mut VecDeque<Instant>, now: Instant) -> Decision {
    if spec.restart == RestartType::Temporary {
        return Decision::Stop {
            state: ComponentState::Terminated,
            reason: "restart: temporary components are never restarted".into(),
        };
    }
    // Panics are abnormal exits, so permanent and transient children are both restarted.
    while log
        .front()
        .is_some_and(|t| now.duration_since(*t) > spec.within)
    {
        log.pop_front();
    }
    if log.len() >= spec.max_restarts as usize {
        return Decision::Stop {
            state: ComponentState::Failed,
            reason: format!(
                "restart intensity exceeded ({} restarts within {}s); escalated",
                spec.max_restarts,
                spec.within.as_secs_f64()
            ),
        };
    }
    log.push_back(now);
    Decision::Restart {
        backoff: backoff(spec.backoff_min, spec.backoff_max, log.len() as u32 - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn spec(restart: RestartType) -> SupervisionSpec {
        SupervisionSpec {
            restart,
            max_restarts: 2,
            within: Duration::from_secs(10),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(300),
            ..SupervisionSpec::default()
        }
    }

    #[test]
    fn temporary_is_never_restarted() {
        let mut log = VecDeque::new();
        assert!(matches!(
            decide(&spec(RestartType::Temporary), &mut log, Instant::now()),
            Decision::Stop {
                state: ComponentState::Terminated,
                ..
            }
        ));
    }

    #[test]
    fn intensity_escalates_and_backoff_grows_capped() {
        let s = spec(RestartType::Permanent);
        let mut log = VecDeque::new();
        let now = Instant::now();
        let Decision::Restart { backoff: b1 } = decide(&s, &mut log, now) else {
            panic!()
        };
        let Decision::Restart { backoff: b2 } = decide(&s, &mut log, now) else {
            panic!()
        };
        assert!(b1 <= Duration::from_millis(120) && b1 >= Duration::from_millis(80));
        assert!(b2 >= Duration::from_millis(160) && b2 <= Duration::from_millis(300));
        assert!(matches!(
            decide(&s, &mut log, now),
            Decision::Stop {
                state: ComponentState::Failed,
                ..
            }
        ));
    }

    #[test]
    fn restarts_outside_the_window_are_forgotten() {
        let s = spec(RestartType::Transient);
        let mut log = VecDeque::new();
        let t0 = Instant::now();
        decide(&s, &mut log, t0);
        decide(&s, &mut log, t0);
        let later = t0 + Duration::from_secs(11);
        assert!(matches!(
            decide(&s, &mut log, later),
            Decision::Restart { .. }
        ));
    }
}
