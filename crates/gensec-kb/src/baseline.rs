//! The baseline file: a small index (catalogue, Config rules, Config type
//! aliases, Security Hub controls, where each chunk is) followed by
//! independently compressed chunks, one per CloudFormation namespace, one per
//! IAM prefix and one per namespace of configuration-item shapes, so a query
//! decompresses only what it needs.
//!
//! Layout: `GSKB` | format u32 LE | index length u64 LE | zstd(postcard(index)) | chunks.

use crate::facts::{CiShape, ConfigTypeAlias, SecurityHubControl};
use crate::model::{
    ConditionKey, ConfigRule, IamService, KbMeta, ResourceTypeSchema, ServiceEntry,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 4] = b"GSKB";
pub const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 16;
const COMPRESSION_LEVEL: i32 = 19;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("not a gensec knowledge base (bad magic)")]
    BadMagic,
    #[error(
        "knowledge base format {found} is not supported (expected {FORMAT_VERSION}); rebuild it with scripts/refresh-kb"
    )]
    Version { found: u32 },
    #[error("knowledge base is truncated")]
    Truncated,
    #[error("knowledge base {what} is corrupt: {message}")]
    Corrupt { what: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// Namespace (`AWS::S3`) or IAM prefix (`s3`).
    pub key: String,
    /// Type names in a CloudFormation or shape chunk (empty for IAM chunks).
    pub names: Vec<String>,
    pub offset: u64,
    pub len: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbIndex {
    pub meta: KbMeta,
    pub catalogue: Vec<ServiceEntry>,
    pub config_rules: Vec<ConfigRule>,
    pub global_condition_keys: Vec<ConditionKey>,
    pub config_types: Vec<ConfigTypeAlias>,
    pub security_hub_controls: Vec<SecurityHubControl>,
    pub cfn_chunks: Vec<ChunkRef>,
    pub iam_chunks: Vec<ChunkRef>,
    pub ci_chunks: Vec<ChunkRef>,
}

/// Everything that goes into a baseline.
#[derive(Debug, Clone)]
pub struct KbContent {
    pub meta: KbMeta,
    pub catalogue: Vec<ServiceEntry>,
    pub config_rules: Vec<ConfigRule>,
    pub global_condition_keys: Vec<ConditionKey>,
    /// Grouped by namespace.
    pub resource_types: Vec<(String, Vec<ResourceTypeSchema>)>,
    pub iam: Vec<IamService>,
    pub config_types: Vec<ConfigTypeAlias>,
    pub security_hub_controls: Vec<SecurityHubControl>,
    /// Configuration-item shapes grouped by Config namespace.
    pub ci_shapes: Vec<(String, Vec<CiShape>)>,
}

fn compress<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, BaselineError> {
    let raw = postcard::to_stdvec(value).map_err(|err| BaselineError::Corrupt {
        what: what.to_string(),
        message: err.to_string(),
    })?;
    zstd::bulk::compress(&raw, COMPRESSION_LEVEL).map_err(|err| BaselineError::Corrupt {
        what: what.to_string(),
        message: err.to_string(),
    })
}

/// Decompress and decode one chunk or the index.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, BaselineError> {
    let corrupt = |message: String| BaselineError::Corrupt {
        what: what.to_string(),
        message,
    };
    let raw = DECOMPRESSOR
        .with(|decompressor| {
            let mut decompressor = decompressor.borrow_mut();
            if decompressor.is_none() {
                *decompressor = Some(zstd::bulk::Decompressor::new()?);
            }
            match decompressor.as_mut() {
                Some(decompressor) => decompressor.decompress(bytes, MAX_DECOMPRESSED),
                None => Err(std::io::Error::other("no zstd decompressor")),
            }
        })
        .map_err(|err| corrupt(err.to_string()))?;
    postcard::from_bytes(&raw).map_err(|err| corrupt(err.to_string()))
}

/// The largest chunk a knowledge base may hold once decompressed; every
/// chunk records its size, and one claiming more is corrupt.
const MAX_DECOMPRESSED: usize = 256 << 20;

thread_local! {
    /// One decompression context per thread, made on first use: making one
    /// per chunk was a hundredth of `--service all`, which decodes every chunk.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Serialise a knowledge base.
pub fn write(content: &KbContent) -> Result<Vec<u8>, BaselineError> {
    let mut chunks = Vec::new();
    let mut cfn_chunks = Vec::new();
    for (namespace, schemas) in &content.resource_types {
        let bytes = compress(schemas, namespace)?;
        cfn_chunks.push(ChunkRef {
            key: namespace.clone(),
            names: schemas.iter().map(|s| s.type_name.clone()).collect(),
            offset: chunks.len() as u64,
            len: bytes.len() as u64,
        });
        chunks.extend(bytes);
    }
    let mut iam_chunks = Vec::new();
    for service in &content.iam {
        let bytes = compress(service, &service.prefix)?;
        iam_chunks.push(ChunkRef {
            key: service.prefix.clone(),
            names: Vec::new(),
            offset: chunks.len() as u64,
            len: bytes.len() as u64,
        });
        chunks.extend(bytes);
    }
    let mut ci_chunks = Vec::new();
    for (namespace, shapes) in &content.ci_shapes {
        let bytes = compress(shapes, namespace)?;
        ci_chunks.push(ChunkRef {
            key: namespace.clone(),
            names: shapes.iter().map(|s| s.config_type.clone()).collect(),
            offset: chunks.len() as u64,
            len: bytes.len() as u64,
        });
        chunks.extend(bytes);
    }
    let index = KbIndex {
        meta: content.meta.clone(),
        catalogue: content.catalogue.clone(),
        config_rules: content.config_rules.clone(),
        global_condition_keys: content.global_condition_keys.clone(),
        config_types: content.config_types.clone(),
        security_hub_controls: content.security_hub_controls.clone(),
        cfn_chunks,
        iam_chunks,
        ci_chunks,
    };
    let index_bytes = compress(&index, "index")?;
    let mut out = Vec::with_capacity(HEADER_LEN + index_bytes.len() + chunks.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(index_bytes.len() as u64).to_le_bytes());
    out.extend(index_bytes);
    out.extend(chunks);
    Ok(out)
}

/// Read the index; returns it and the offset where chunks start.
pub fn read_index(bytes: &[u8]) -> Result<(KbIndex, usize), BaselineError> {
    if bytes.len() < HEADER_LEN {
        return Err(BaselineError::Truncated);
    }
    if &bytes[..4] != MAGIC {
        return Err(BaselineError::BadMagic);
    }
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[4..8]);
    let found = u32::from_le_bytes(word);
    if found != FORMAT_VERSION {
        return Err(BaselineError::Version { found });
    }
    let mut long = [0u8; 8];
    long.copy_from_slice(&bytes[8..16]);
    let index_len =
        usize::try_from(u64::from_le_bytes(long)).map_err(|_| BaselineError::Truncated)?;
    let chunks_start = HEADER_LEN
        .checked_add(index_len)
        .filter(|end| *end <= bytes.len())
        .ok_or(BaselineError::Truncated)?;
    let index: KbIndex = decode(&bytes[HEADER_LEN..chunks_start], "index")?;
    let chunk_area = (bytes.len() - chunks_start) as u64;
    for chunk in index
        .cfn_chunks
        .iter()
        .chain(&index.iam_chunks)
        .chain(&index.ci_chunks)
    {
        if chunk
            .offset
            .checked_add(chunk.len)
            .is_none_or(|end| end > chunk_area)
        {
            return Err(BaselineError::Truncated);
        }
    }
    Ok((index, chunks_start))
}
