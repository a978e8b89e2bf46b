//! What every actor of one runtime shares: router (and through it the bus and the component
//! cells), the session table, the root supervisor's address and the options.

use crate::bus::MessageBus;
use crate::router::Router;
use crate::runtime::RuntimeOptions;
use crate::session::SessionTable;
use crate::supervisor::RootSupervisor;
use std::sync::{Arc, OnceLock};

/// One bundle handed to every actor at start, so none needs a global or a back pointer.
pub(crate) struct Services {
    pub(crate) router: Router,
    pub(crate) bus: Arc<dyn MessageBus>,
    pub(crate) sessions: Arc<SessionTable>,
    /// Set once the root supervisor runs (it is started after the services exist).
    pub(crate) root: OnceLock<actix::Addr<RootSupervisor>>,
    pub(crate) opts: RuntimeOptions,
    /// The .ww file's directory: relative paths in the config (prompt files) start there.
    pub(crate) base_dir: std::path::PathBuf,
}
