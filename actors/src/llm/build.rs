//! Builds the model behind an `llm` component: `mock` here, network providers from
//! `providers::build_provider` once that module is merged (one line to wire in).

use super::mock::MockModel;
use super::ChatModel;
use std::sync::Arc;
use woodwork_parser::Component;

/// The model an llm component (and the agents that use it) call; errors say what is wrong with the
/// declaration and never contain a secret.
pub fn build_model(c: &Component) -> Result<Arc<dyn ChatModel>, String> {
    match c.type_name.as_str() {
        "mock" => Ok(Arc::new(MockModel::from_component(c)?)),
        other => Err(format!(
            "llm `{}`: provider {other} not built in this branch",
            c.name
        )),
    }
}
