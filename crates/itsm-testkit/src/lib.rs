//! Test-only helpers: the golden-fixture check that pins the stored bytes of events and of the
//! values they embed (the domain crates), and a directory copy for tests that damage or upgrade
//! a copy of a ledger on disk (the event store, the CLI).
//!
//! Architecture invariant: this crate is a `[dev-dependencies]` entry only. It reads and writes
//! files, so no production crate may depend on it (`tests/architecture.rs` checks that).
//!
//! Key decision: the harness is shared, the examples are not. Each crate keeps its own list of
//! examples and the exhaustive `match` that makes a new variant fail to compile until it has
//! one; this crate compares `tests/golden/<name>.bin` with the example's bincode bytes (the
//! ledger's payload codec: bincode 2.0.1, serde, standard config) both ways, checks that the
//! examples cover every variant once, and refuses fixtures that pin no example.
//!
//! A missing fixture fails the check; run once with `UPDATE_GOLDEN=1` to write it, then commit
//! it. Existing fixtures are never rewritten: a changed encoding needs a new schema version, not
//! new golden bytes.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::io::ErrorKind;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Copies the directory `from` with everything in it to `to` (created if missing).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("the target directory");
    for entry in std::fs::read_dir(from).expect("a directory to copy") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("a file copied");
        }
    }
}

/// The extension of a golden fixture.
const EXTENSION: &str = "bin";

/// The ledger encoding of `value`.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).expect("encodes")
}

/// Decodes `bytes` with the ledger encoding; every byte must belong to the value.
#[track_caller]
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> T {
    let (value, read): (T, usize) =
        bincode::serde::decode_from_slice(bytes, bincode::config::standard()).expect("decodes");
    assert_eq!(read, bytes.len(), "trailing bytes after the value");
    value
}

/// Checks each `(name, example)` against `dir/<name>.bin`: the stored bytes must decode to the
/// example and the example must encode to the stored bytes (so every example also round-trips
/// the codec). With `UPDATE_GOLDEN=1` a missing file is written (and then checked like the
/// others); without it, missing files fail the check, all of them listed at once.
#[track_caller]
pub fn check_golden<T: Serialize + DeserializeOwned + PartialEq + Debug>(
    dir: &Path,
    examples: &[(&str, T)],
) {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|value| value == "1");
    check(dir, examples, update);
}

#[track_caller]
fn check<T: Serialize + DeserializeOwned + PartialEq + Debug>(
    dir: &Path,
    examples: &[(&str, T)],
    update: bool,
) {
    let mut names = BTreeSet::new();
    let mut missing = Vec::new();
    for (name, example) in examples {
        assert!(names.insert(*name), "two examples are named {name}");
        let path = dir.join(format!("{name}.{EXTENSION}"));
        let bytes = encode(example);
        let stored = match std::fs::read(&path) {
            Ok(stored) => stored,
            Err(error) if error.kind() == ErrorKind::NotFound && update => {
                std::fs::create_dir_all(dir).expect("creates the golden directory");
                std::fs::write(&path, &bytes).expect("writes the golden file");
                bytes.clone()
            }
            Err(error) => {
                missing.push(format!("{}: {error}", path.display()));
                continue;
            }
        };
        assert_eq!(
            &decode::<T>(&stored),
            example,
            "{} decodes differently",
            path.display()
        );
        assert_eq!(bytes, stored, "{} re-encodes differently", path.display());
    }
    assert!(
        missing.is_empty(),
        "missing golden files (run with UPDATE_GOLDEN=1 once, then commit them): {missing:#?}"
    );
}

/// Checks that `examples` hold exactly one example of each of a type's `variants` variants: their
/// numbers from the crate's exhaustive `variant_index` match are `0..variants`, once each, and
/// their names are exactly `names` (the persisted names of all variants).
#[track_caller]
pub fn check_one_example_per_variant<T>(
    examples: &[(&str, T)],
    variants: usize,
    variant_index: impl Fn(&T) -> usize,
    names: &[&str],
) {
    let indices: BTreeSet<usize> = examples.iter().map(|(_, e)| variant_index(e)).collect();
    assert_eq!(
        indices,
        (0..variants).collect(),
        "variants without an example"
    );
    assert_eq!(examples.len(), variants, "one example per variant");
    let example_names: BTreeSet<&str> = examples.iter().map(|(name, _)| *name).collect();
    let all: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(
        example_names, all,
        "example names and persisted names differ"
    );
    assert_eq!(names.len(), variants, "one persisted name per variant");
}

/// Refuses a fixture (a `.bin` file) in `dir` that is not `<name>.bin` for one of `names`: a stale
/// file would otherwise sit there pinning nothing. Other files (such as `.gitattributes`) are
/// left alone, and a missing directory passes (the golden check reports the missing files).
#[track_caller]
pub fn refuse_stale_fixtures(dir: &Path, names: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let expected: BTreeSet<String> = names
        .iter()
        .map(|name| format!("{name}.{EXTENSION}"))
        .collect();
    let stale: Vec<String> = entries
        .map(|entry| {
            entry
                .expect("readable golden directory")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|file| {
            Path::new(file)
                .extension()
                .is_some_and(|extension| extension == EXTENSION)
                && !expected.contains(file)
        })
        .collect();
    assert!(
        stale.is_empty(),
        "files in {} that pin no current example: {stale:?}",
        dir.display()
    );
}

#[cfg(test)]
mod tests {
    use std::panic::catch_unwind;
    use std::path::PathBuf;

    use super::*;

    /// A fresh, empty directory of this test's own, removed again when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("itsm-testkit-{}-{test}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("creates the scratch dir");
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_value_round_trips_and_trailing_bytes_are_refused() {
        let bytes = encode(&(7_u32, "seven".to_owned()));
        assert_eq!(decode::<(u32, String)>(&bytes), (7, "seven".to_owned()));
        let mut longer = bytes;
        longer.push(0);
        assert!(catch_unwind(|| decode::<(u32, String)>(&longer)).is_err());
    }

    #[test]
    fn a_matching_fixture_passes_and_a_different_value_fails() {
        let scratch = Scratch::new("matching");
        std::fs::write(scratch.0.join("Seven.bin"), encode(&7_u32)).expect("writes");
        check(&scratch.0, &[("Seven", 7_u32)], false);
        assert!(catch_unwind(|| check(&scratch.0, &[("Seven", 8_u32)], false)).is_err());
    }

    #[test]
    fn a_missing_fixture_fails_unless_updating_which_writes_it() {
        let scratch = Scratch::new("missing");
        assert!(catch_unwind(|| check(&scratch.0, &[("Seven", 7_u32)], false)).is_err());
        check(&scratch.0, &[("Seven", 7_u32)], true);
        let stored = std::fs::read(scratch.0.join("Seven.bin")).expect("written");
        assert_eq!(stored, encode(&7_u32));
        check(&scratch.0, &[("Seven", 7_u32)], false);
    }

    #[test]
    fn updating_never_rewrites_an_existing_fixture() {
        let scratch = Scratch::new("no-rewrite");
        std::fs::write(scratch.0.join("Seven.bin"), encode(&7_u32)).expect("writes");
        assert!(catch_unwind(|| check(&scratch.0, &[("Seven", 8_u32)], true)).is_err());
        let stored = std::fs::read(scratch.0.join("Seven.bin")).expect("still there");
        assert_eq!(stored, encode(&7_u32));
    }

    #[test]
    fn two_examples_of_one_name_are_refused() {
        let scratch = Scratch::new("twice");
        std::fs::write(scratch.0.join("Seven.bin"), encode(&7_u32)).expect("writes");
        let twice = [("Seven", 7_u32), ("Seven", 7_u32)];
        assert!(catch_unwind(|| check(&scratch.0, &twice, false)).is_err());
    }

    #[test]
    fn every_variant_needs_exactly_one_example_under_its_name() {
        let index = |value: &u8| usize::from(*value);
        let names = ["Zero", "One"];
        check_one_example_per_variant(&[("Zero", 0_u8), ("One", 1)], 2, index, &names);
        let checks: [&[(&str, u8)]; 3] = [
            &[("Zero", 0)],
            &[("Zero", 0), ("One", 1), ("One", 1)],
            &[("Zero", 0), ("Two", 1)],
        ];
        for examples in checks {
            let result = catch_unwind(|| check_one_example_per_variant(examples, 2, index, &names));
            assert!(result.is_err(), "{examples:?} passed");
        }
    }

    #[test]
    fn a_fixture_of_no_current_example_is_refused() {
        let scratch = Scratch::new("stale");
        std::fs::write(scratch.0.join("Seven.bin"), encode(&7_u32)).expect("writes");
        std::fs::write(scratch.0.join(".gitattributes"), "*.bin binary\n").expect("writes");
        refuse_stale_fixtures(&scratch.0, &["Seven"]);
        assert!(catch_unwind(|| refuse_stale_fixtures(&scratch.0, &["Eight"])).is_err());
    }
}
