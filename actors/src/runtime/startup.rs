//! Starting a runtime: component cells built from the config, tool backends and hook workers
//! started (a bad one fails the start with its own message), then the supervised actors.

use super::{session_event, Inner, Runtime, RuntimeOptions};
use crate::bus::{InMemoryBus, MessageBus};
use crate::component::behaviour::Behaviour;
use crate::component::{ComponentActor, ComponentCell};
use crate::envelope::EventType;
use crate::error::RuntimeError;
use crate::hooks::HookSet;
use crate::router::Router;
use crate::services::Services;
use crate::session::{SessionManager, SessionTable};
use crate::supervisor::RootSupervisor;
use actix::Actor;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;
use woodwork_parser::{Config, Kind};

fn build_cells(
    config: &Config,
    opts: &RuntimeOptions,
) -> Result<Vec<Arc<ComponentCell>>, RuntimeError> {
    let mut order: Vec<&str> = config.start_order.iter().map(String::as_str).collect();
    for c in &config.components {
        if !order.contains(&c.name.as_str()) {
            order.push(&c.name);
        }
    }
    let index: HashMap<&str, usize> = order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let base_dir = config.base_dir();
    let mut workers = crate::hooks::PythonWorkers::new();
    let mut cells = Vec::with_capacity(order.len());
    for (i, name) in order.iter().enumerate() {
        let spec = config.component(name).ok_or_else(|| {
            RuntimeError::Start(format!("start_order names `{name}`, which is not declared"))
        })?;
        let mut routes = Vec::new();
        let mut routes_names = Vec::new();
        for to in config.routes_from(name) {
            let t = *index.get(to).ok_or_else(|| {
                RuntimeError::Start(format!(
                    "component `{name}` routes to `{to}`, which is not declared"
                ))
            })?;
            if !routes.contains(&t) {
                routes.push(t);
                routes_names.push(to.to_string());
            }
        }
        let model = if spec.kind == Kind::Llm {
            Some(crate::llm::build_model(spec).map_err(RuntimeError::Start)?)
        } else {
            None
        };
        let backends = crate::component::backends::build(spec, config, &base_dir)
            .map_err(RuntimeError::Start)?;
        let hooks =
            HookSet::from_component(spec, &base_dir, &mut workers).map_err(RuntimeError::Start)?;
        cells.push(Arc::new(ComponentCell::new(
            i,
            Arc::new(spec.clone()),
            routes,
            routes_names,
            model,
            backends,
            hooks,
            opts.mailbox_capacity.max(1),
        )));
    }
    Ok(cells)
}

/// Starts every tool backend (workers spawned, servers connected and listed, files embedded),
/// all at once, so a bad tool fails the start with its own message instead of the first call.
async fn start_backends(cells: &[Arc<ComponentCell>]) -> Result<(), RuntimeError> {
    let starts = cells.iter().filter_map(|c| {
        let tool = c.backends.tool.clone()?;
        let name = c.name.clone();
        Some(async move {
            tracing::info!(component = &*name, "starting tool backend");
            tool.start()
                .await
                .map_err(|e| format!("component `{name}` cannot start: {e}"))
        })
    });
    let results = futures_util::future::join_all(starts).await;
    let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        for c in cells {
            if let Some(t) = &c.backends.tool {
                t.shutdown().await;
            }
        }
        Err(RuntimeError::Start(errors.join("; ")))
    }
}

impl Runtime {
    /// Starts every component (dependency order) under the root supervisor. Must be called inside
    /// an actix System; the actors run on the calling arbiter.
    pub async fn start(config: Config, opts: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        if actix::System::try_current().is_none() {
            return Err(RuntimeError::Start(
                "Runtime::start must be called inside an actix System (e.g. #[actix_web::main])"
                    .into(),
            ));
        }
        let cells: Arc<[Arc<ComponentCell>]> = build_cells(&config, &opts)?.into();
        start_backends(&cells).await?;
        // Python hook workers start now, so a missing function fails the start, not the first call.
        for cell in cells.iter() {
            cell.hooks
                .check(&cell.name)
                .await
                .map_err(RuntimeError::Start)?;
        }
        let memory_bus = Arc::new(InMemoryBus::new(
            opts.send_timeout,
            crate::bus::DlqLimits {
                max_letters: opts.dlq_capacity,
                max_bytes: opts.dlq_max_bytes,
            },
        ));
        memory_bus.attach(
            cells
                .iter()
                .map(|c| c.clone() as Arc<dyn crate::bus::Mailbox>)
                .collect(),
        );
        let bus: Arc<dyn MessageBus> = memory_bus;
        let sessions = SessionTable::with_memory_budget(
            opts.session_ttl,
            opts.max_sessions,
            opts.session_queue_limit,
            opts.session_memory_budget,
        );
        let ended_bus = bus.clone();
        sessions.set_on_ended(Box::new(move |id| {
            session_event(&ended_bus, EventType::SessionEnded, id)
        }));
        let services = Arc::new(Services {
            router: Router::new(bus.clone(), cells.clone()),
            bus: bus.clone(),
            sessions: sessions.clone(),
            root: Default::default(),
            opts: opts.clone(),
            base_dir: config.base_dir(),
        });
        // Build every behaviour first, so a bad component fails the start before any actor runs.
        let mut behaviours = Vec::with_capacity(cells.len());
        for cell in cells.iter() {
            behaviours.push(Behaviour::build(cell, &services).map_err(RuntimeError::Start)?);
        }
        let root = RootSupervisor::new(cells.clone()).start();
        let _ = services.root.set(root.clone().recipient());
        let session_manager = SessionManager { table: sessions }.start();
        for (cell, behaviour) in cells.iter().zip(behaviours) {
            let addr = ComponentActor::new(cell.clone(), services.clone(), behaviour).start();
            let _ = cell.addr.set(addr);
            tracing::debug!(component = &*cell.name, kind = %cell.spec.kind, "component started");
        }
        Ok(Runtime {
            inner: Arc::new(Inner {
                services,
                root,
                session_manager,
                accepting: AtomicBool::new(true),
                active: AtomicUsize::new(0),
                idle: Notify::new(),
                started: Instant::now(),
            }),
        })
    }
}
