//! The knowledge base: CloudFormation resource schemas, IAM service
//! authorization data, AWS Config managed rules and the service catalogue,
//! loaded from a compact compressed baseline (embedded in the binary by
//! default) with lazy, per-namespace and per-prefix decompression.
//!
//! ```no_run
//! let kb = gensec_kb::Kb::embedded().unwrap();
//! let s3 = kb.resolve_service("Amazon S3").unwrap();
//! let bucket = kb.resource_type("AWS::S3::Bucket").unwrap().unwrap();
//! assert!(bucket.resolve("VersioningConfiguration.Status").is_some());
//! # let _ = s3;
//! ```

/// AWS Config's resource type for settings of the account itself.
pub const ACCOUNT_CONFIG_TYPE: &str = "AWS::::Account";

pub mod api_model;
pub mod baseline;
pub mod build;
mod config_lookup;
pub mod controls;
/// The small curated tables under `data/`, embedded by the build script.
mod data {
    include!(concat!(env!("OUT_DIR"), "/data_files.rs"));
}
pub mod coverage;
mod documentation;
pub mod facts;
pub mod guard;
pub mod ingest;
mod key_index;
pub mod model;
pub mod names;
pub mod overlay;
pub mod paths;
pub mod tags;
pub mod terraform_schema;
pub mod validate;

pub use config_lookup::{CiPath, CiPathException, ci_path_exceptions, map_ci_path};
pub use documentation::{
    SOURCE_CFN, SOURCE_CONFIG, SOURCE_IAM, ServiceDocumentation, SourceStatus,
};
pub use facts::*;
pub use model::*;
pub use overlay::run_kb;

use baseline::{BaselineError, KbIndex};
use gensec_core::manifest::KbStamp;
use key_index::KeyIndex;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The committed baseline, built by `scripts/refresh-kb`.
#[cfg(feature = "embedded")]
pub static EMBEDDED_BASELINE: &[u8] = include_bytes!("../baseline/gensec-kb.bin");

/// Errors reading the knowledge base.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("reading knowledge base {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("knowledge base {origin}: {source}")]
    Baseline {
        origin: String,
        #[source]
        source: BaselineError,
    },
}

impl From<KbError> for gensec_core::Error {
    fn from(err: KbError) -> Self {
        gensec_core::Error::KnowledgeBase(err.to_string())
    }
}

type Cached<T> = OnceLock<Result<T, String>>;

/// Names of a service by lookup precedence: id, namespaces, IAM prefixes, aliases.
fn names_at_tier(entry: &ServiceEntry, tier: usize) -> Vec<String> {
    match tier {
        0 => vec![entry.id.clone()],
        1 => entry
            .cfn_namespaces
            .iter()
            .flat_map(|ns| [ns.clone(), ns.trim_start_matches("AWS::").to_string()])
            .collect(),
        2 => entry.iam_prefixes.clone(),
        _ => entry.aliases.clone(),
    }
}

/// A loaded knowledge base. Cheap to open; chunks decompress on first use.
/// Cheap to clone: clones share the baseline and its decompressed chunks. A
/// run's refreshed documentation is laid over it with
/// [`Kb::with_documentation`] ([`overlay`]).
#[derive(Debug, Clone)]
pub struct Kb {
    base: Arc<Base>,
    overlay: Option<Arc<overlay::Overlay>>,
}

/// The baseline: its bytes, index, lookup maps and chunk caches.
#[derive(Debug)]
struct Base {
    bytes: Cow<'static, [u8]>,
    chunks_start: usize,
    index: KbIndex,
    origin: String,
    aliases: HashMap<String, usize>,
    type_chunk: HashMap<String, usize>,
    prefix_chunk: HashMap<String, usize>,
    rules: HashMap<String, usize>,
    cfn_cache: Vec<Cached<Vec<ResourceTypeSchema>>>,
    iam_cache: Vec<Cached<IamService>>,
    /// Each IAM service's condition keys by name, built with the service.
    iam_key_index: Vec<OnceLock<KeyIndex>>,
    global_key_index: KeyIndex,
    config_lookup: config_lookup::ConfigIndex,
}

impl Kb {
    /// The baseline embedded in this binary.
    #[cfg(feature = "embedded")]
    pub fn embedded() -> Result<Self, KbError> {
        Self::from_bytes(Cow::Borrowed(EMBEDDED_BASELINE), "embedded".to_string())
    }

    /// A baseline file, e.g. one rebuilt by `scripts/refresh-kb`.
    pub fn from_file(path: &Path) -> Result<Self, KbError> {
        let bytes = std::fs::read(path).map_err(|source| KbError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(Cow::Owned(bytes), path.display().to_string())
    }

    /// `path` when given, else the embedded baseline.
    #[cfg(feature = "embedded")]
    pub fn open(path: Option<&Path>) -> Result<Self, KbError> {
        match path {
            Some(path) => Self::from_file(path),
            None => Self::embedded(),
        }
    }

    pub fn from_bytes(bytes: Cow<'static, [u8]>, origin: String) -> Result<Self, KbError> {
        let (index, chunks_start) =
            baseline::read_index(&bytes).map_err(|source| KbError::Baseline {
                origin: origin.clone(),
                source,
            })?;
        // Precedence: ids, then namespaces, then IAM prefixes, then other names,
        // so a display name shared by two services never hides a namespace.
        let mut aliases = HashMap::new();
        for tier in 0..4 {
            for (position, entry) in index.catalogue.iter().enumerate() {
                for name in names_at_tier(entry, tier) {
                    aliases
                        .entry(ingest::catalogue::normalise(&name))
                        .or_insert(position);
                }
            }
        }
        let type_chunk = index
            .cfn_chunks
            .iter()
            .enumerate()
            .flat_map(|(position, chunk)| {
                chunk.names.iter().map(move |name| (name.clone(), position))
            })
            .collect();
        let prefix_chunk = index
            .iam_chunks
            .iter()
            .enumerate()
            .map(|(position, chunk)| (chunk.key.clone(), position))
            .collect();
        let rules = index
            .config_rules
            .iter()
            .enumerate()
            .map(|(position, rule)| (rule.identifier.clone(), position))
            .collect();
        let base = Base {
            config_lookup: config_lookup::ConfigIndex::new(&index),
            cfn_cache: index.cfn_chunks.iter().map(|_| OnceLock::new()).collect(),
            iam_cache: index.iam_chunks.iter().map(|_| OnceLock::new()).collect(),
            iam_key_index: index.iam_chunks.iter().map(|_| OnceLock::new()).collect(),
            global_key_index: KeyIndex::new(&index.global_condition_keys),
            bytes,
            chunks_start,
            index,
            origin,
            aliases,
            type_chunk,
            prefix_chunk,
            rules,
        };
        Ok(Self {
            base: Arc::new(base),
            overlay: None,
        })
    }

    pub fn meta(&self) -> &KbMeta {
        &self.base.index.meta
    }

    /// `embedded` or the file it was read from.
    pub fn origin(&self) -> &str {
        &self.base.origin
    }

    /// What a manifest records about this knowledge base.
    pub fn stamp(&self) -> KbStamp {
        KbStamp {
            data_date: self.base.index.meta.data_date.clone(),
            sources: self
                .base
                .index
                .meta
                .sources
                .iter()
                .map(|source| format!("{} {}", source.name, source.version))
                .collect(),
            origin: self.base.origin.clone(),
        }
    }

    /// The baseline's catalogue; [`Kb::service`] and [`Kb::resolve_service`]
    /// answer with a run's documentation for the service it documents.
    pub fn services(&self) -> &[ServiceEntry] {
        &self.base.index.catalogue
    }

    /// Find a service by id, name, alias, namespace or IAM prefix, ignoring
    /// case, spaces and punctuation; suggests near names when nothing matches.
    pub fn resolve_service(&self, name: &str) -> Result<&ServiceEntry, gensec_core::Error> {
        let key = ingest::catalogue::normalise(name);
        let stripped = ["amazon", "aws"]
            .iter()
            .find_map(|vendor| key.strip_prefix(vendor))
            .filter(|rest| !rest.is_empty());
        let found = self
            .base
            .aliases
            .get(&key)
            .or_else(|| stripped.and_then(|rest| self.base.aliases.get(rest)));
        match found {
            Some(position) => Ok(self.entry(&self.base.index.catalogue[*position])),
            None => {
                let close = gensec_core::suggest::closest(
                    name,
                    self.base
                        .index
                        .catalogue
                        .iter()
                        .flat_map(|entry| entry.aliases.iter().map(String::as_str)),
                    10,
                );
                let mut suggestions: Vec<String> = Vec::new();
                for alias in close {
                    let Some(position) =
                        self.base.aliases.get(&ingest::catalogue::normalise(&alias))
                    else {
                        continue;
                    };
                    let entry = &self.base.index.catalogue[*position];
                    let label = format!("{} ({})", entry.display_name, entry.id);
                    if !suggestions.contains(&label) && suggestions.len() < 5 {
                        suggestions.push(label);
                    }
                }
                Err(gensec_core::Error::UnknownService {
                    name: name.to_string(),
                    suggestions,
                })
            }
        }
    }

    pub fn service(&self, id: &str) -> Option<&ServiceEntry> {
        if let Some(entry) = self.overlay.as_ref().and_then(|o| o.service(id)) {
            return Some(entry);
        }
        self.base
            .index
            .catalogue
            .iter()
            .find(|entry| entry.id == id)
    }

    /// Every resource type name, without decompressing anything.
    pub fn resource_type_names(&self) -> impl Iterator<Item = &str> {
        let added = self.overlay.iter().flat_map(|o| o.added_type_names());
        self.base
            .index
            .cfn_chunks
            .iter()
            .flat_map(|chunk| chunk.names.iter().map(String::as_str))
            .chain(added)
    }

    pub(crate) fn chunk_bytes(&self, chunk: &baseline::ChunkRef) -> &[u8] {
        // Bounds were checked when the index was read.
        let start = self.base.chunks_start + chunk.offset as usize;
        &self.base.bytes[start..start + chunk.len as usize]
    }

    pub(crate) fn corrupt(&self, message: &str) -> KbError {
        KbError::Baseline {
            origin: self.base.origin.clone(),
            source: BaselineError::Corrupt {
                what: "chunk".into(),
                message: message.to_string(),
            },
        }
    }

    fn cfn_chunk(&self, position: usize) -> Result<&[ResourceTypeSchema], KbError> {
        let chunk = &self.base.index.cfn_chunks[position];
        self.base.cfn_cache[position]
            .get_or_init(|| {
                baseline::decode(self.chunk_bytes(chunk), &chunk.key).map_err(|err| err.to_string())
            })
            .as_deref()
            .map_err(|message| self.corrupt(message))
    }

    /// Schema of one resource type (`AWS::S3::Bucket`).
    pub fn resource_type(&self, type_name: &str) -> Result<Option<&ResourceTypeSchema>, KbError> {
        if let Some(schema) = self
            .overlay
            .as_ref()
            .and_then(|o| o.resource_type(type_name))
        {
            return Ok(Some(schema));
        }
        let Some(position) = self.base.type_chunk.get(type_name) else {
            return Ok(None);
        };
        Ok(self
            .cfn_chunk(*position)?
            .iter()
            .find(|schema| schema.type_name == type_name))
    }

    /// IAM data of one service prefix (`s3`).
    pub fn iam_service(&self, prefix: &str) -> Result<Option<&IamService>, KbError> {
        if let Some(service) = self.overlay.as_ref().and_then(|o| o.iam_service(prefix)) {
            return Ok(Some(service));
        }
        self.base_iam_service(prefix)
    }

    fn base_iam_service(&self, prefix: &str) -> Result<Option<&IamService>, KbError> {
        match self.base.prefix_chunk.get(&prefix.to_ascii_lowercase()) {
            Some(position) => self.base_iam_service_at(*position).map(Some),
            None => Ok(None),
        }
    }

    /// The baseline's IAM service in chunk `position`, decoded on first use.
    fn base_iam_service_at(&self, position: usize) -> Result<&IamService, KbError> {
        let chunk = &self.base.index.iam_chunks[position];
        self.base.iam_cache[position]
            .get_or_init(|| {
                baseline::decode(self.chunk_bytes(chunk), &chunk.key).map_err(|err| err.to_string())
            })
            .as_ref()
            .map_err(|message| self.corrupt(message))
    }

    pub fn iam_prefixes(&self) -> impl Iterator<Item = &str> {
        let added = self.overlay.iter().flat_map(|o| o.added_prefixes());
        self.base
            .index
            .iam_chunks
            .iter()
            .map(|chunk| chunk.key.as_str())
            .chain(added)
    }

    /// An action by its full name (`s3:GetObject`), case-insensitive as IAM is.
    pub fn action(&self, full_name: &str) -> Result<Option<&IamAction>, KbError> {
        let Some((prefix, name)) = full_name.split_once(':') else {
            return Ok(None);
        };
        Ok(self.iam_service(prefix)?.and_then(|service| {
            service
                .actions
                .iter()
                .find(|action| action.name.eq_ignore_ascii_case(name))
        }))
    }

    pub fn global_condition_keys(&self) -> &[ConditionKey] {
        &self.base.index.global_condition_keys
    }

    /// The definition of a condition key (global or service-specific), matching
    /// templated keys such as `aws:RequestTag/${TagKey}` against `aws:RequestTag/env`.
    pub fn condition_key(&self, key: &str) -> Result<Option<&ConditionKey>, KbError> {
        let Some((prefix, _)) = key.split_once(':') else {
            return Ok(None);
        };
        if prefix.eq_ignore_ascii_case("aws") {
            let keys = &self.base.index.global_condition_keys;
            return Ok(self.base.global_key_index.find(keys, key));
        }
        // A refreshed service is looked through; the baseline's are indexed.
        if let Some(service) = self.overlay.as_ref().and_then(|o| o.iam_service(prefix)) {
            return Ok(service
                .condition_keys
                .iter()
                .find(|candidate| paths::key_matches(&candidate.name, key)));
        }
        let Some(&position) = self.base.prefix_chunk.get(&prefix.to_ascii_lowercase()) else {
            return Ok(None);
        };
        let service = self.base_iam_service_at(position)?;
        let index = self.base.iam_key_index[position]
            .get_or_init(|| KeyIndex::new(&service.condition_keys));
        Ok(index.find(&service.condition_keys, key))
    }

    /// Every managed rule. With a run's documentation laid over the baseline,
    /// the merged list is built on the first call (one copy of the rules).
    pub fn config_rules(&self) -> &[ConfigRule] {
        match &self.overlay {
            Some(overlay) if overlay.has_rules() => {
                overlay.all_rules(&self.base.index.config_rules)
            }
            _ => &self.base.index.config_rules,
        }
    }

    pub fn config_rule(&self, identifier: &str) -> Option<&ConfigRule> {
        if let Some(rule) = self
            .overlay
            .as_ref()
            .and_then(|o| o.config_rule(identifier))
        {
            return Some(rule);
        }
        self.base
            .rules
            .get(identifier)
            .map(|position| &self.base.index.config_rules[*position])
    }

    /// Decompress every chunk (what a full load costs); returns how many.
    pub fn load_all(&self) -> Result<usize, KbError> {
        for position in 0..self.base.index.cfn_chunks.len() {
            self.cfn_chunk(position)?;
        }
        for chunk in &self.base.index.iam_chunks {
            self.base_iam_service(&chunk.key)?;
        }
        for position in 0..self.base.index.ci_chunks.len() {
            self.ci_chunk(position)?;
        }
        Ok(self.base.index.cfn_chunks.len()
            + self.base.index.iam_chunks.len()
            + self.base.index.ci_chunks.len())
    }

    /// Everything the knowledge base knows about one service.
    pub fn service_documentation(
        &self,
        entry: &ServiceEntry,
    ) -> Result<ServiceDocumentation, KbError> {
        documentation::build(self, entry)
    }
}
