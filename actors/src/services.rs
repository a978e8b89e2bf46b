//! What every actor of one runtime shares: router (and through it the bus and the component
//! cells), the session table, the root supervisor's address and the options.

use crate::bus::MessageBus;
use crate::router::Router;
use crate::runtime::RuntimeOptions;
use crate::session::SessionTable;
use crate::supervisor::RootSupervisor;
use std::sync::{Arc, OnceLock};

pub struct Services {
    pub router: Router,
    pub bus: Arc<dyn MessageBus>,
    pub sessions: Arc<SessionTable>,
    pub root: OnceLock<actix::Addr<RootSupervisor>>,
    pub opts: RuntimeOptions,
    /// The .ww file's directory: relative paths in the config (prompt files) start there.
    pub base_dir: std::path::PathBuf,
}
