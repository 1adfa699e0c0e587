//! Scenario tests: `tests/testdata/*.txt`, each replayed on a fresh tree. The expected outputs
//! were recorded from a real ZooKeeper by `tests/record_scenarios.py` (files whose header says
//! otherwise were written by hand from ZooKeeper's source and observed behaviour).

mod scenario;

use scenario::{datadriven, Runner};
use std::path::Path;

#[test]
fn scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario files in {}", dir.display());
    let mut failures = Vec::new();
    let mut cases = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read scenario");
        // Recorded files are rewritten only by the recorder, from a real ZooKeeper.
        let rewrite = std::env::var_os("TREE_SCENARIO_REWRITE").is_some()
            && text.starts_with("# hand-written");
        let mut rewritten = String::new();
        let mut runner = Runner::new();
        for case in datadriven::parse(&text) {
            cases += 1;
            let actual = runner.run(&case.input);
            if rewrite {
                for comment in &case.comments {
                    rewritten.push_str(comment);
                    rewritten.push('\n');
                }
                rewritten.push_str(&case.input.join("\n"));
                rewritten.push_str("\n----\n");
                rewritten.push_str(&actual);
                rewritten.push('\n');
                continue;
            }
            if actual != case.expected {
                failures.push(format!(
                    "{}:{}: {}\n--- expected\n{}--- actual\n{}",
                    file.file_name().unwrap_or_default().to_string_lossy(),
                    case.line,
                    case.input.join("\n"),
                    case.expected,
                    actual
                ));
            }
        }
        if rewrite {
            std::fs::write(file, rewritten.trim_end().to_string() + "\n").expect("rewrite");
        }
    }
    assert!(cases > 0, "no scenario cases ran");
    assert!(
        failures.is_empty(),
        "{} of {cases} scenario cases failed:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}
