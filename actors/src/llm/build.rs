//! Builds the model behind an `llm` component: `mock` here, the network providers in `providers`.

use super::mock::MockModel;
use super::props::ConfigError;
use super::ChatModel;
use std::sync::Arc;
use woodwork_parser::Component;

/// The model an llm component (and the agents that use it) call; errors say what is wrong with the
/// declaration and never contain a secret. A failed start reports the [`ConfigError`]'s message.
pub fn build_model(c: &Component) -> Result<Arc<dyn ChatModel>, ConfigError> {
    match c.type_name.as_str() {
        // The mock's own messages already name the component (`llm `name`: …`).
        "mock" => Ok(Arc::new(MockModel::from_component(c)?)),
        _ => super::providers::provider(c),
    }
}
