//! Runs the real `readbench` binary at smoke size and checks the shape of every line.

use std::process::Command;

#[test]
fn readbench_prints_the_memory_figures_against_the_target_and_the_queue_figure() {
    let output = Command::new(env!("CARGO_BIN_EXE_readbench"))
        .arg("--smoke")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "readbench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let queue = lines.pop().expect("the queue figure comes last");
    assert_eq!(queue["bench"], "queue_first_page_index_vs_scan", "{queue}");
    assert_eq!(queue["unit"], "us", "{queue}");
    let (value, ceiling) = (
        queue["value"].as_f64().unwrap(),
        queue["ceiling"].as_f64().unwrap(),
    );
    assert!(value > 0.0 && ceiling > 0.0, "{queue}");
    assert!(
        (queue["ratio"].as_f64().unwrap() - value / ceiling).abs() < 1e-9,
        "{queue}"
    );
    let names: Vec<String> = lines
        .iter()
        .map(|v| {
            let line = v.to_string();
            assert_eq!(v["unit"], "bytes", "{line}");
            assert_eq!(v["ceiling"], 1024.0, "{line}");
            let value = v["value"].as_f64().unwrap();
            assert!(value > 0.0, "{line}");
            assert!(
                (v["ratio"].as_f64().unwrap() - value / 1024.0).abs() < 1e-9,
                "{line}"
            );
            v["bench"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "memory_per_open_ticket",
            "memory_per_open_ticket_heap_estimate",
            "snapshot_bytes_per_open_ticket"
        ]
    );
}
