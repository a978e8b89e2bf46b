//! Starting a runtime: component cells built from the config, tool backends and hook workers
//! started (a bad one fails the start with its own message), then the supervised actors.

use super::{session_event, Generation, Inner, Runtime, RuntimeOptions};
use crate::bus::memory::BusLedger;
use crate::bus::{InMemoryBus, MessageBus};
use crate::cell::{ActorLink, ComponentCell};
use crate::component::behaviour::Behaviour;
use crate::component::ComponentActor;
use crate::envelope::EventType;
use crate::error::RuntimeError;
use crate::hooks::{GlobalHooks, HookLimits, HookSet};
use crate::memory_store::MemoryStore;
use crate::router::Router;
use crate::services::Services;
use crate::session::{SessionManager, SessionTable};
use crate::supervisor::RootSupervisor;
use actix::Actor;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::task::TaskTracker;
use woodwork_parser::{Config, Kind};

/// Component names in start order (declared ones `start_order` misses appended).
pub(super) fn start_order(config: &Config) -> Vec<&str> {
    let mut order: Vec<&str> = config.start_order.iter().map(String::as_str).collect();
    for c in &config.components {
        if !order.contains(&c.name.as_str()) {
            order.push(&c.name);
        }
    }
    order
}

/// The route targets of `name`, as indices into the table `index` and as names.
pub(super) fn routes_of(
    config: &Config,
    name: &str,
    index: &HashMap<&str, usize>,
) -> Result<(Vec<usize>, Vec<String>), RuntimeError> {
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
    Ok((routes, routes_names))
}

/// One component's cell from its spec: model, backends (built, not started) and hooks.
pub(super) fn build_cell(
    config: &Config,
    name: &str,
    (i, routes, routes_names): (usize, Vec<usize>, Vec<String>),
    opts: &RuntimeOptions,
    workers: &mut crate::hooks::PythonWorkers,
) -> Result<ComponentCell, RuntimeError> {
    let base_dir = config.base_dir();
    let spec = config.component(name).ok_or_else(|| {
        RuntimeError::Start(format!("start_order names `{name}`, which is not declared"))
    })?;
    let model = if spec.kind == Kind::Llm {
        Some(crate::llm::build_model(spec).map_err(|e| RuntimeError::Start(e.to_string()))?)
    } else {
        None
    };
    let backends = crate::component::backends::build(spec, config, &base_dir)
        .map_err(|e| RuntimeError::Start(e.to_string()))?;
    let limits = HookLimits::default();
    let hooks = HookSet::with_global_pipes(spec, &config.pipes, &base_dir, workers, limits)
        .map_err(|e| RuntimeError::Start(e.to_string()))?;
    Ok(ComponentCell::new(
        i,
        Arc::new(spec.clone()),
        routes,
        routes_names,
        model,
        backends,
        hooks,
        opts.mailbox_capacity.max(1),
    ))
}

fn build_cells(
    config: &Config,
    opts: &RuntimeOptions,
    cluster: Option<&Arc<crate::cluster::Cluster>>,
) -> Result<Vec<Arc<ComponentCell>>, RuntimeError> {
    let order = start_order(config);
    let index: HashMap<&str, usize> = order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut workers = crate::hooks::PythonWorkers::new();
    let mut cells = Vec::with_capacity(order.len());
    for (i, name) in order.iter().enumerate() {
        let (routes, names) = routes_of(config, name, &index)?;
        let mut cell = build_cell(config, name, (i, routes, names), opts, &mut workers)?;
        // A model another node hosts is called there (its agents here use this stand-in).
        if let (Some(c), Some(real)) = (cluster, &cell.model) {
            if !c.hosts(name) {
                let remote = crate::cluster::RemoteChatModel::new(
                    c.clone(),
                    cell.name.clone(),
                    real.describe(),
                );
                cell.model = Some(Arc::new(remote));
            }
        }
        cells.push(Arc::new(cell));
    }
    Ok(cells)
}

/// Starts every tool backend (workers spawned, servers connected and listed, files embedded),
/// all at once, so a bad tool fails the start with its own message instead of the first call.
pub(super) async fn start_backends(cells: &[Arc<ComponentCell>]) -> Result<(), RuntimeError> {
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
        let cluster = match &opts.cluster {
            Some(spec) => {
                let names: Vec<String> =
                    start_order(&config).iter().map(|n| n.to_string()).collect();
                Some(
                    crate::cluster::Cluster::connect(spec.clone(), &names)
                        .await
                        .map_err(RuntimeError::Start)?,
                )
            }
            None => None,
        };
        let hosted = |name: &str| cluster.as_ref().is_none_or(|c| c.hosts(name));
        if let (None, Some(bus)) = (
            &cluster,
            config.deployment.as_ref().and_then(|d| d.external_bus()),
        ) {
            tracing::warn!(
                bus = bus.kind.map_or("from an unread variable", |k| k.as_str()),
                "the file's `deployment` names a message bus, but this server was started without it (`--bus memory`): every component runs in this process on the in-memory bus"
            );
        }
        let cells: Arc<[Arc<ComponentCell>]> =
            build_cells(&config, &opts, cluster.as_ref())?.into();
        // Only what this node hosts starts its tools and hook workers; the rest runs elsewhere.
        let local: Vec<Arc<ComponentCell>> =
            cells.iter().filter(|c| hosted(&c.name)).cloned().collect();
        start_backends(&local).await?;
        // Python hook workers start now, so a missing function fails the start, not the first call.
        for cell in local.iter() {
            cell.hooks
                .check(&cell.name)
                .await
                .map_err(|e| RuntimeError::Start(e.to_string()))?;
        }
        let sessions = SessionTable::with_memory_budget(
            opts.session_ttl,
            opts.max_sessions,
            opts.session_queue_limit,
            opts.session_memory_budget,
        );
        let global_hooks = GlobalHooks::checked(&config).await?;
        // Dead letters and bus figures outlive a reload's new bus.
        let ledger = BusLedger::new(crate::bus::DlqLimits {
            max_letters: opts.dlq_capacity,
            max_bytes: opts.dlq_max_bytes,
        });
        if let Some(c) = &cluster {
            ledger
                .mirror_to(&c.broker)
                .await
                .map_err(RuntimeError::Start)?;
        }
        let (services, root) = assemble(
            cells,
            sessions.clone(),
            ledger.clone(),
            TaskTracker::new(),
            &opts,
            config.base_dir(),
            cluster.clone(),
        )?;
        if let Some(c) = &cluster {
            c.join().await.map_err(RuntimeError::Start)?;
            c.start(&services);
        }
        // Subscribed before the arbiter runs the new actors, so the first state changes are seen.
        if let Some(g) = global_hooks {
            g.start(&services.bus);
        }
        let (fingerprints, config_hash) = super::reload::fingerprints(&config);
        let current = Arc::new(parking_lot::RwLock::new(Arc::new(Generation {
            services,
            root,
            number: 1,
            ledger,
            fingerprints,
            config_hash,
            turns: TaskTracker::new(),
        })));
        // Sessions outlive reloads: their end is announced on the bus of the config serving then.
        let weak = Arc::downgrade(&current);
        sessions.set_on_ended(Box::new(move |id| {
            if let Some(current) = weak.upgrade() {
                let bus = current.read().services.bus.clone();
                session_event(&bus, EventType::SessionEnded, id)
            }
        }));
        let session_manager = SessionManager { table: sessions }.start();
        Ok(Runtime {
            inner: Arc::new(Inner {
                current,
                session_manager,
                accepting: AtomicBool::new(true),
                turns: TaskTracker::new(),
                started: Instant::now(),
                reload: Default::default(),
            }),
        })
    }
}

/// Puts started cells to work: their bus and router, every behaviour built (so a bad component
/// fails before any actor runs), the root supervisor and one actor per cell. Used at start and by
/// a reload for the new generation.
pub(super) fn assemble(
    cells: Arc<[Arc<ComponentCell>]>,
    sessions: Arc<SessionTable>,
    ledger: BusLedger,
    background: TaskTracker,
    opts: &RuntimeOptions,
    base_dir: std::path::PathBuf,
    cluster: Option<Arc<crate::cluster::Cluster>>,
) -> Result<(Arc<Services>, actix::Addr<RootSupervisor>), RuntimeError> {
    let memory_bus = Arc::new(InMemoryBus::with_ledger(opts.send_timeout, ledger));
    // A component another node hosts is reached through its queue on the broker.
    memory_bus.attach(
        cells
            .iter()
            .map(|c| match &cluster {
                Some(cl) if !cl.hosts(&c.name) => Arc::new(crate::cluster::RemoteMailbox::new(
                    c.name.clone(),
                    cl.clone(),
                    opts.mailbox_capacity.max(1),
                ))
                    as Arc<dyn crate::bus::Mailbox>,
                _ => c.clone() as Arc<dyn crate::bus::Mailbox>,
            })
            .collect(),
    );
    let bus: Arc<dyn MessageBus> = memory_bus;
    let services = Arc::new(Services {
        router: Router::new(bus.clone(), cells.clone()),
        bus,
        memory: MemoryStore::new(sessions.clone(), cluster.as_ref(), opts.session_ttl),
        sessions,
        root: Default::default(),
        opts: opts.clone(),
        base_dir,
        background,
        cluster,
    });
    let mut behaviours = Vec::with_capacity(cells.len());
    for cell in cells.iter() {
        behaviours.push(
            Behaviour::build(cell, &services).map_err(|e| RuntimeError::Start(e.to_string()))?,
        );
    }
    let root = RootSupervisor::new(cells.clone()).start();
    let _ = services.root.set(root.clone().recipient());
    for (cell, behaviour) in cells.iter().zip(behaviours) {
        let addr = ComponentActor::new(cell.clone(), services.clone(), behaviour).start();
        let _ = cell.addr.set(ActorLink::new(addr));
        tracing::debug!(component = &*cell.name, kind = %cell.spec.kind, "component started");
    }
    Ok((services, root))
}
