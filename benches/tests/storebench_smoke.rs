//! Runs the real `storebench` binary at smoke size and checks the shape of every line.
//! No timing asserts: only that each figure and its ceiling were measured.

use std::process::Command;

#[test]
fn storebench_prints_one_json_figure_per_line_with_a_positive_ratio() {
    let output = Command::new(env!("CARGO_BIN_EXE_storebench"))
        .arg("--smoke")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "storebench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut names = Vec::new();
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let obj = v.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["bench", "ceiling", "ratio", "unit", "value"],
            "{line}"
        );
        let unit = if obj["bench"]
            .as_str()
            .unwrap()
            .starts_with("raw_sled_layout_log_incident")
        {
            "mutations/s"
        } else {
            "events/s"
        };
        assert_eq!(obj["unit"], unit, "{line}");
        let value = obj["value"].as_f64().unwrap();
        let ceiling = obj["ceiling"].as_f64().unwrap();
        let ratio = obj["ratio"].as_f64().unwrap();
        assert!(value > 0.0 && ceiling > 0.0 && ratio > 0.0, "{line}");
        assert!(
            (ratio - value / ceiling).abs() <= 1e-9 * ratio.max(1.0),
            "{line}"
        );
        names.push(obj["bench"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        names,
        [
            "append_durable_c1",
            "raw_sled_store_layout_c1",
            "append_durable_c256",
            "append_durable_c256_command_ids",
            "raw_sled_store_layout_c256",
            "read_all",
            "raw_sled_layout_log_incident_format1",
            "raw_sled_layout_log_incident_format2"
        ]
    );
}

#[test]
fn storebench_refuses_unknown_arguments() {
    let status = Command::new(env!("CARGO_BIN_EXE_storebench"))
        .arg("--fast")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}
