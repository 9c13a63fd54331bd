//! Once per finding: the fingerprint of a finding's failing state, which the
//! [`FindingStateStore`](gensec_core::ports::FindingStateStore) compares with
//! what it last notified. `UpdatedAt`, workflow and notes are left out, so a
//! re-import of an unchanged failing finding is not news.

use crate::finding::Finding;
use sha2::{Digest, Sha256};

/// The send-once state key: the finding id with its control id, the same
/// for ASFF and OCSF findings (`<id>#<control>`; the bare id for findings
/// without a control), so one finding id reported for two controls is two
/// findings.
pub fn state_key(finding: &Finding) -> String {
    match finding.control_id() {
        Some(control) => format!("{}#{control}", finding.id),
        None => finding.id.clone(),
    }
}

/// A digest of what makes a finding's failing state: control (or generator),
/// resources, severity, compliance status.
pub fn fingerprint(finding: &Finding) -> String {
    let mut hasher = Sha256::new();
    let control = finding
        .control_id()
        .unwrap_or_else(|| finding.generator_id.clone());
    for part in [
        control.as_str(),
        finding.severity().as_str(),
        finding.compliance_status().as_deref().unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let mut resources: Vec<&str> = finding.resources.iter().map(|r| r.id.as_str()).collect();
    resources.sort_unstable();
    for id in resources {
        hasher.update(id.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// An in-memory store for tests and `--no-db` style dry runs.
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    rows: std::sync::Mutex<std::collections::BTreeMap<String, (String, bool, String)>>,
}

#[async_trait::async_trait]
impl gensec_core::ports::FindingStateStore for MemoryStateStore {
    async fn record_if_new(
        &self,
        observation: gensec_core::ports::FindingObservation<'_>,
    ) -> gensec_core::Result<bool> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| gensec_core::Error::Fatal("state store lock poisoned".into()))?;
        let send = match rows.get(observation.finding_id) {
            None => true,
            Some((_, _, at)) if at.as_str() > observation.updated_at => false,
            Some((fingerprint, notified, _)) => {
                !*notified || fingerprint != observation.fingerprint
            }
        };
        if send {
            rows.insert(
                observation.finding_id.to_string(),
                (
                    observation.fingerprint.to_string(),
                    true,
                    observation.updated_at.to_string(),
                ),
            );
        }
        Ok(send)
    }

    async fn mark_cleared(&self, finding_id: &str, updated_at: &str) -> gensec_core::Result<()> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| gensec_core::Error::Fatal("state store lock poisoned".into()))?;
        if let Some(row) = rows.get_mut(finding_id)
            && row.2.as_str() <= updated_at
        {
            row.1 = false;
            row.2 = updated_at.to_string();
        }
        Ok(())
    }

    async fn forget(&self, finding_id: &str) -> gensec_core::Result<()> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| gensec_core::Error::Fatal("state store lock poisoned".into()))?;
        rows.remove(finding_id);
        Ok(())
    }
}
