use serde::{Deserialize, Serialize};

use super::ExtraFields;

/// `POST /v1/embeddings` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// Model id.
    pub model: String,
    /// Text or tokens to embed.
    pub input: EmbeddingInput,
    /// `float` (default) or `base64` (little-endian f32, what the official SDKs ask for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<EncodingFormat>,
    /// Output dimensions, for models that support shortening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// End-user id for abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Fields this type does not name, forwarded unchanged.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Input of an embeddings request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One text.
    Text(String),
    /// Several texts.
    Texts(Vec<String>),
    /// One pre-tokenised input.
    Tokens(Vec<u32>),
    /// Several pre-tokenised inputs.
    TokenBatches(Vec<Vec<u32>>),
}

impl EmbeddingInput {
    /// The inputs as texts; token inputs yield none.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Self::Text(t) => vec![t.as_str()],
            Self::Texts(ts) => ts.iter().map(String::as_str).collect(),
            Self::Tokens(_) | Self::TokenBatches(_) => Vec::new(),
        }
    }

    /// Number of separate inputs.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(_) | Self::Tokens(_) => 1,
            Self::Texts(ts) => ts.len(),
            Self::TokenBatches(b) => b.len(),
        }
    }

    /// True when there is nothing to embed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Encoding of returned embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    /// JSON array of floats.
    Float,
    /// Base64 of little-endian f32 values.
    Base64,
}

/// `POST /v1/embeddings` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    /// Always `"list"`.
    pub object: String,
    /// One embedding per input, in input order.
    pub data: Vec<Embedding>,
    /// Model that produced the embeddings.
    pub model: String,
    /// Tokens consumed.
    pub usage: EmbeddingUsage,
}

/// One embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Always `"embedding"`.
    pub object: String,
    /// Position of the input this embedding belongs to.
    pub index: u32,
    /// The vector, as floats or base64.
    pub embedding: EmbeddingVector,
}

/// An embedding vector in either encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    /// Plain floats.
    Float(Vec<f32>),
    /// Base64 of little-endian f32 values.
    Base64(String),
}

impl EmbeddingVector {
    /// Decodes the vector to floats whichever encoding it came in.
    pub fn to_floats(&self) -> Result<Vec<f32>, crate::Error> {
        use base64::Engine as _;
        match self {
            Self::Float(v) => Ok(v.clone()),
            Self::Base64(s) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| {
                        crate::Error::invalid_response(format!("embedding base64: {e}"))
                    })?;
                if bytes.len() % 4 != 0 {
                    return Err(crate::Error::invalid_response(
                        "embedding base64 length is not a multiple of 4",
                    ));
                }
                Ok(bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect())
            }
        }
    }

    /// Encodes floats as base64 of little-endian f32 values.
    pub fn base64_from_floats(values: &[f32]) -> Self {
        use base64::Engine as _;
        let mut bytes = Vec::with_capacity(values.len() * 4);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        Self::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

/// Token usage of an embeddings request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingUsage {
    /// Input tokens.
    pub prompt_tokens: u64,
    /// Same as `prompt_tokens`.
    pub total_tokens: u64,
}
