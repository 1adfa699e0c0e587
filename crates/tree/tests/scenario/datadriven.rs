//! A small datadriven file format: command lines, a `----` separator, the expected output, and a
//! blank line. Lines starting with `#` outside a case are comments.

/// One case: the command (first line plus any continuation lines) and its expected output.
#[derive(Debug)]
pub struct Case {
    /// Comment lines just before the case (kept when a hand-written file is rewritten).
    pub comments: Vec<String>,
    pub line: usize,
    pub input: Vec<String>,
    pub expected: String,
}

pub fn parse(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    let mut comments = Vec::new();
    while let Some((n, line)) = lines.next() {
        if line.starts_with('#') {
            comments.push(line.to_string());
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let mut input = vec![line.to_string()];
        for (_, l) in lines.by_ref() {
            if l == "----" {
                break;
            }
            input.push(l.to_string());
        }
        let mut expected = String::new();
        while let Some((_, l)) = lines.peek() {
            if l.trim().is_empty() {
                break;
            }
            expected.push_str(l);
            expected.push('\n');
            lines.next();
        }
        cases.push(Case {
            comments: std::mem::take(&mut comments),
            line: n + 1,
            input,
            expected,
        });
    }
    cases
}
