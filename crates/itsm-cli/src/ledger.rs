//! Reading the ledger back: print it, decode payloads, verify the chain, rebuild the read
//! models.

use itsm_access::AccessEvent;
use itsm_eventstore::{Envelope, EventStore, SledStore, SnapshotStore, codec};
use itsm_projections::{Projection, ReadModels};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::CliError;

/// Most events read from the store per page while printing.
const PAGE: usize = 1_000;

fn decode_as<T: DeserializeOwned + serde::Serialize>(payload: &[u8]) -> Result<Value, String> {
    let event: T = codec::decode(payload).map_err(|e| e.to_string())?;
    serde_json::to_value(&event).map_err(|e| e.to_string())
}

/// The payload as JSON, decoded with the event type of the stream's aggregate (the read side's
/// `decode`, which also checks the payload against the envelope's event type).
pub fn payload_json(envelope: &Envelope) -> Result<Value, String> {
    if envelope.stream_id.as_str() == itsm_access::STREAM {
        // Token hashes only: the ledger never holds a secret.
        return decode_as::<AccessEvent>(&envelope.payload);
    }
    match itsm_projections::decode(envelope).map_err(|e| e.to_string())? {
        Some(event) => serde_json::to_value(&event).map_err(|e| e.to_string()),
        None => Err(format!("no aggregate owns stream {}", envelope.stream_id)),
    }
}

fn json_line(envelope: &Envelope) -> Value {
    let payload = payload_json(envelope).unwrap_or_else(|error| json!({ "undecodable": error }));
    json!({
        "position": envelope.position,
        "stream": envelope.stream_id.as_str(),
        "version": envelope.version,
        "type": envelope.event_type,
        "schema_version": envelope.schema_version,
        "actor": envelope.metadata.actor,
        "recorded_at": envelope.metadata.recorded_at.to_rfc3339(),
        "hash": envelope.hash.to_string(),
        "payload": payload,
    })
}

/// One line of the table form.
pub fn table_line(envelope: &Envelope) -> String {
    let hash = envelope.hash.to_string();
    format!(
        "{:>6}  {:<14} v{:<3} {:<30} {:<34} {}  {}",
        envelope.position,
        envelope.stream_id.as_str(),
        envelope.version,
        envelope.event_type,
        envelope.metadata.actor,
        envelope.metadata.recorded_at.format("%Y-%m-%d %H:%M:%S"),
        hash.get(..12).unwrap_or(&hash),
    )
}

pub async fn print(store: &SledStore, from: u64, limit: usize, json: bool) -> Result<(), CliError> {
    let mut next = from.max(1);
    let mut left = limit;
    while left > 0 {
        let page = store.read_all(next, left.min(PAGE)).await?;
        let Some(last) = page.last() else {
            break;
        };
        next = last.position + 1;
        left -= page.len();
        for envelope in &page {
            if json {
                println!("{}", json_line(envelope));
            } else {
                println!("{}", table_line(envelope));
            }
        }
    }
    Ok(())
}

pub async fn verify(store: &SledStore) -> Result<(), CliError> {
    let report = store.verify().await?;
    match report.first_problem() {
        None => {
            println!(
                "ledger ok: {} events, {} index entries, head hash {}",
                report.events, report.index_entries, report.head_hash
            );
            Ok(())
        }
        Some(problem) => Err(CliError::Invalid(format!(
            "first bad position {}: {:?} ({} problems in all)",
            problem.position,
            problem.defect,
            report.problems.len()
        ))),
    }
}

/// Folds the whole ledger into fresh read models, from position 1, and saves them as the
/// newest snapshot: the server resumes from it at its next start.
pub async fn rebuild(store: &SledStore) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let head = store.head();
    let mut models = ReadModels::default();
    let mut undecodable = 0_u64;
    let mut next = 1;
    while next <= head {
        let page = store.read_all(next, PAGE).await?;
        let Some(last) = page.last() else {
            break;
        };
        next = last.position + 1;
        for envelope in page.iter().take_while(|e| e.position <= head) {
            if let Err(problem) = models.apply_envelope(envelope) {
                undecodable += 1;
                eprintln!("position {}: {problem}", envelope.position);
            }
        }
    }
    let folded = started.elapsed();
    let bytes = models
        .encode_snapshot()
        .map_err(|e| CliError::Command(format!("cannot encode the read models: {e}")))?;
    let snapshot_bytes = bytes.len();
    store
        .save_snapshot(ReadModels::NAME, models.position(), bytes)
        .await?;
    println!(
        "rebuilt the read models from position 1 to {} in {folded:.2?} ({:.2?} with the snapshot)",
        models.position(),
        started.elapsed()
    );
    println!("  events applied        {head}");
    println!("  undecodable payloads  {undecodable}");
    println!("  open incidents        {}", models.queues.open_count());
    println!(
        "  known errors          {}",
        models.known_errors.list().count()
    );
    println!("  audit entries         {}", models.audit.len());
    println!(
        "  heap estimate         {} KiB",
        models.approximate_heap_bytes() / 1024
    );
    println!(
        "  snapshot              {} KiB at position {}",
        snapshot_bytes / 1024,
        models.position()
    );
    Ok(())
}
