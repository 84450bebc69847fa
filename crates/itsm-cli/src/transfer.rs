//! `ledgerdesk export` / `ledgerdesk import`: the ledger as JSON Lines, losslessly.
//!
//! One JSON object per envelope, fields in a fixed order: `position`, `stream`, `version`,
//! `type`, `schema_version`, `payload` (lowercase hex of the stored bytes), `actor`,
//! `command_id`, `correlation_id`, `causation_id` (UUID or null), `recorded_at` (RFC 3339 UTC
//! with nine fraction digits), `prev_hash`, `hash` (lowercase hex). Every field the hash covers
//! is kept exactly, so an imported copy re-verifies and has the same head hash, and exporting
//! the copy gives a byte-identical file.
//!
//! Token material: the `access` stream holds only BLAKE3 hashes of bearer tokens, never a
//! secret; those hashes are exported like every other payload byte.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use itsm_eventstore::{
    CausationId, CommandId, CorrelationId, Envelope, EventStore, Hash, ImportError, Metadata,
    SledStore, StreamId,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::CliError;

/// Envelopes read from the store, or imported, per batch.
const BATCH: usize = 5_000;

/// One line of the file. Field order is the file format.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    position: u64,
    stream: String,
    version: u64,
    #[serde(rename = "type")]
    event_type: String,
    schema_version: u16,
    payload: String,
    actor: String,
    command_id: Option<Uuid>,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    recorded_at: String,
    prev_hash: String,
    hash: String,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Lowercase hex only, so every byte string has exactly one spelling (round trips stay
/// byte-identical).
fn unhex(text: &str) -> Result<Vec<u8>, String> {
    fn digit(c: u8) -> Result<u8, String> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            other => Err(format!(
                "'{}' is not a lowercase hex digit",
                char::from(other)
            )),
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err("odd number of hex digits".to_owned());
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Ok((digit(pair[0])? << 4) | digit(pair[1])?))
        .collect()
}

fn hash_of(text: &str) -> Result<Hash, String> {
    let bytes: [u8; 32] = unhex(text)?
        .try_into()
        .map_err(|_| "a hash has 64 hex digits".to_owned())?;
    Ok(Hash(bytes))
}

impl Line {
    fn of(envelope: &Envelope) -> Self {
        let m = &envelope.metadata;
        Line {
            position: envelope.position,
            stream: envelope.stream_id.as_str().to_owned(),
            version: envelope.version,
            event_type: envelope.event_type.clone(),
            schema_version: envelope.schema_version,
            payload: hex(&envelope.payload),
            actor: m.actor.clone(),
            command_id: m.command_id.map(|id| id.0),
            correlation_id: m.correlation_id.map(|id| id.0),
            causation_id: m.causation_id.map(|id| id.0),
            recorded_at: m.recorded_at.to_rfc3339_opts(SecondsFormat::Nanos, true),
            prev_hash: hex(&envelope.prev_hash.0),
            hash: hex(&envelope.hash.0),
        }
    }

    fn into_envelope(self) -> Result<Envelope, String> {
        let recorded_at = DateTime::parse_from_rfc3339(&self.recorded_at)
            .map_err(|e| format!("recorded_at: {e}"))?
            .with_timezone(&Utc);
        Ok(Envelope {
            position: self.position,
            stream_id: StreamId::new(self.stream).map_err(|e| e.to_string())?,
            version: self.version,
            event_type: self.event_type,
            schema_version: self.schema_version,
            payload: unhex(&self.payload).map_err(|e| format!("payload: {e}"))?,
            metadata: Metadata {
                actor: self.actor,
                command_id: self.command_id.map(CommandId),
                correlation_id: self.correlation_id.map(CorrelationId),
                causation_id: self.causation_id.map(CausationId),
                recorded_at,
            },
            prev_hash: hash_of(&self.prev_hash).map_err(|e| format!("prev_hash: {e}"))?,
            hash: hash_of(&self.hash).map_err(|e| format!("hash: {e}"))?,
        })
    }
}

fn io_error(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> CliError {
    let message = format!("cannot {what} {}", path.display());
    move |error| CliError::Command(format!("{message}: {error}"))
}

pub async fn export(store: &SledStore, out: &Path) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let file = File::create(out).map_err(io_error("create", out))?;
    let mut writer = BufWriter::new(file);
    let head = store.head();
    let mut next = 1;
    let mut last_hash = Hash::GENESIS;
    while next <= head {
        let page = store.read_all(next, BATCH).await?;
        let Some(last) = page.last() else {
            break;
        };
        next = last.position + 1;
        last_hash = last.hash;
        for envelope in page.iter().take_while(|e| e.position <= head) {
            let line = serde_json::to_string(&Line::of(envelope))
                .map_err(|e| CliError::Command(format!("cannot encode an envelope: {e}")))?;
            writer
                .write_all(line.as_bytes())
                .and_then(|()| writer.write_all(b"\n"))
                .map_err(io_error("write", out))?;
        }
    }
    writer
        .into_inner()
        .map_err(|e| CliError::Command(format!("cannot write {}: {e}", out.display())))?
        .sync_all()
        .map_err(io_error("sync", out))?;
    println!(
        "exported {head} events to {} in {:.2?}; head hash {last_hash}",
        out.display(),
        started.elapsed()
    );
    Ok(())
}

pub async fn import(store: &SledStore, file: &Path) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    if store.head() != 0 {
        return Err(CliError::Command(format!(
            "the data directory {} already holds {} events; import only fills an empty one",
            store.path().display(),
            store.head()
        )));
    }
    let reader = BufReader::new(File::open(file).map_err(io_error("open", file))?);
    let mut batch = Vec::with_capacity(BATCH);
    let mut imported = 0_u64;
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(io_error("read", file))?;
        let envelope = serde_json::from_str::<Line>(&line)
            .map_err(|e| e.to_string())
            .and_then(Line::into_envelope)
            .map_err(|e| CliError::Invalid(format!("{} line {number}: {e}", file.display())))?;
        batch.push(envelope);
        if batch.len() == BATCH {
            imported += import_batch(store, std::mem::take(&mut batch)).await?;
        }
    }
    imported += import_batch(store, batch).await?;
    println!(
        "imported {imported} events from {} in {:.2?}",
        file.display(),
        started.elapsed()
    );
    crate::ledger::verify(store).await
}

async fn import_batch(store: &SledStore, batch: Vec<Envelope>) -> Result<u64, CliError> {
    match store.import(batch).await {
        Ok(imported) => Ok(imported.events),
        Err(ImportError::Store(error)) => Err(CliError::Store(error)),
        Err(refused @ (ImportError::NotEmpty { .. } | ImportError::Refused { .. })) => {
            let kept = match store.head() {
                0 => "nothing was written".to_owned(),
                head => format!(
                    "the data directory keeps the {head} events before it: remove it before \
                     importing again"
                ),
            };
            Err(CliError::Invalid(format!(
                "import refused: {refused}; {kept}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_has_one_spelling() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert!(unhex("AB").is_err());
        assert!(unhex("abc").is_err());
        assert!(unhex("zz").is_err());
    }

    #[test]
    fn timestamps_keep_every_nanosecond() {
        let at = DateTime::from_timestamp(1_764_000_000, 1).unwrap();
        let text = at.to_rfc3339_opts(SecondsFormat::Nanos, true);
        assert_eq!(text, "2025-11-24T16:00:00.000000001Z");
        let back = DateTime::parse_from_rfc3339(&text)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(back, at);
    }
}
