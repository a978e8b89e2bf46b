//! Global hooks (top-level `hooks = [...]`, DESIGN.md §4): they see every event of every
//! component, runtime events included (component.state_changed, component.restarted,
//! breaker.state_changed, session.created, session.ended).
//!
//! Every event passes through [`MessageBus::publish`], so global hooks are one bounded
//! subscription of the bus rather than a call added wherever an event is made: nothing that
//! publishes can forget them, and a slow hook never slows a publisher (a full subscription loses
//! events, counted in the bus's `lost_events`). Each run is a spawned job bounded like a
//! component's hooks (per-hook slots, timeout killing the process group), and at most
//! [`MAX_IN_FLIGHT`] jobs wait at once; a job past that is counted as a hook failure.
//!
//! Global pipes are not here: they are put in front of each component's own pipes when its hook
//! set is built ([`super::HookSet::with_global_pipes`]), since pipes act on delivered messages.

use super::{prepare, HookLimits, HookSet, HookSetupError, PythonWorkers};
use crate::bus::MessageBus;
use crate::envelope::Envelope;
use crate::error::RuntimeError;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Semaphore;
use woodwork_parser::Config;

/// How global hooks and pipes are named in errors.
pub const OWNER: &str = "global";
/// Events queued for the global hooks before new ones are lost (and counted).
pub const QUEUE: usize = 1024;
/// Global hook jobs running or waiting for a slot at once.
pub const MAX_IN_FLIGHT: usize = 1024;

/// A global hook that cannot be readied fails the start with its message.
fn start_error(e: HookSetupError) -> RuntimeError {
    RuntimeError::Start(e.to_string())
}

/// The file's global hooks, ready to run.
pub struct GlobalHooks {
    set: HookSet,
    /// Component name → type, for the payload's `component_type`.
    types: HashMap<String, String>,
}

impl GlobalHooks {
    /// The global hooks of `config`, or `None` when it has none; Python workers are shared with
    /// the components through `workers`.
    pub fn from_config(
        config: &Config,
        base_dir: &Path,
        workers: &mut PythonWorkers,
        limits: HookLimits,
    ) -> Result<Option<GlobalHooks>, HookSetupError> {
        if config.hooks.is_empty() {
            return Ok(None);
        }
        let hooks = prepare(OWNER, &config.hooks, "hook", base_dir, workers, limits)?;
        Ok(Some(GlobalHooks {
            set: HookSet {
                pipes: Vec::new(),
                hooks,
                http: reqwest::Client::new(),
                limits,
            },
            types: config
                .components
                .iter()
                .map(|c| (c.name.clone(), c.type_name.clone()))
                .collect(),
        }))
    }

    /// Starts the Python workers and checks every function exists, so a typo fails the start.
    pub async fn check(&self) -> Result<(), HookSetupError> {
        self.set.check(OWNER).await
    }

    /// The global hooks of `config` (scripts against its folder, default bounds), their Python
    /// functions checked: what a start (or a reload) subscribes to its bus.
    pub async fn checked(config: &Config) -> Result<Option<GlobalHooks>, RuntimeError> {
        let mut workers = PythonWorkers::new();
        let hooks = Self::from_config(
            config,
            &config.base_dir(),
            &mut workers,
            HookLimits::default(),
        )
        .map_err(start_error)?;
        if let Some(g) = &hooks {
            g.check().await.map_err(start_error)?;
        }
        Ok(hooks)
    }

    /// Subscribes to every event of `bus` and runs the matching hooks for each, on the current
    /// arbiter, until the bus closes the subscription.
    pub fn start(self, bus: &Arc<dyn MessageBus>) {
        let mut rx = bus.subscribe(None, QUEUE);
        let bus = bus.clone();
        let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        actix_rt::spawn(async move {
            while let Some(env) = rx.recv().await {
                self.fire(&env, &bus, &in_flight);
            }
            self.set.stop_workers().await;
        });
    }

    fn fire(&self, env: &Envelope, bus: &Arc<dyn MessageBus>, in_flight: &Arc<Semaphore>) {
        if !self.set.has_hooks_for(env.event_type.as_str()) {
            return;
        }
        // The component an event is about: its sender, or for input from outside (an HTTP
        // caller) the component it is for; runtime events of the session table have neither.
        let (component, component_type) = std::iter::once(&*env.sender)
            .chain(env.target.as_deref())
            .find_map(|n| self.types.get(n).map(|t| (n, t.as_str())))
            .unwrap_or((&*env.sender, "runtime"));
        for job in self.set.hook_jobs(env, component, component_type) {
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                bus.count_hook_failure();
                tracing::warn!(
                    event = env.event_type.as_str(),
                    limit = MAX_IN_FLIGHT,
                    "global hook skipped: too many runs in flight"
                );
                continue;
            };
            let bus = bus.clone();
            actix_rt::spawn(async move {
                let result = job.await;
                drop(permit);
                if let Err(e) = result {
                    bus.count_hook_failure();
                    tracing::warn!(scope = OWNER, error = %e, "hook failed");
                }
            });
        }
    }
}
