use serde::{Deserialize, Serialize};

use super::ExtraFields;

/// `GET /v1/models` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    /// Always `"list"`.
    #[serde(default = "list_object")]
    pub object: String,
    /// The models.
    pub data: Vec<Model>,
}

/// One model as listed by `GET /v1/models`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Model id, e.g. `gpt-4o-mini` upstream or `openai/gpt-4o-mini` through AI Hub.
    pub id: String,
    /// Always `"model"`.
    #[serde(default = "model_object")]
    pub object: String,
    /// Unix time the model was created.
    #[serde(default)]
    pub created: i64,
    /// The organisation that owns the model.
    #[serde(default)]
    pub owned_by: String,
    /// Fields beyond OpenAI's (AI Hub adds pricing and context window).
    #[serde(flatten)]
    pub extra: ExtraFields,
}

fn list_object() -> String {
    "list".to_owned()
}

fn model_object() -> String {
    "model".to_owned()
}
