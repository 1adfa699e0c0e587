//! Making zkCli-style output comparable across servers and runs (shared by the zkCli and shell
//! tests).

/// The hex value after `key = 0x` on a stat line.
pub fn hex_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.strip_prefix(key)?.strip_prefix(" = 0x")
}

/// `whoami` lists a session's identities in the server's set order; compare them as a set.
pub fn sort_whoami_blocks(lines: Vec<String>) -> Vec<String> {
    let is_identity = |l: &str| {
        l.split_once(": ")
            .map(|(s, _)| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase()))
            .unwrap_or(false)
    };
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        out.push(lines[i].clone());
        if lines[i] == "Auth scheme: User" {
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && is_identity(&lines[end]) {
                end += 1;
            }
            let mut block = lines[start..end].to_vec();
            block.sort();
            out.extend(block);
            i = end;
        } else {
            i += 1;
        }
    }
    out
}
