//! Node names of sequential recipe nodes: Curator's protected prefix and sequence sorting.

use rand::RngCore;

/// Curator's prefix for nodes created "with protection" (`CreateBuilderImpl.PROTECTED_PREFIX`).
pub(crate) const PROTECTED_PREFIX: &str = "_c_";

/// A random (version 4) UUID in its 36-character text form, as `java.util.UUID` prints it.
pub(crate) fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `_c_<uuid>-`: the part of a protected node name that identifies its creator, so that a
/// creator whose create request was cut off by a connection loss can find its node.
pub(crate) fn protected_prefix(guid: &str) -> String {
    format!("{PROTECTED_PREFIX}{guid}-")
}

/// The sequence suffix after the last `marker` (e.g. `lock-`), as Curator's
/// `StandardLockInternalsDriver.fixForSorting` takes it; `None` for names without one.
pub(crate) fn sequence_of(name: &str, marker: &str) -> Option<u64> {
    let at = name.rfind(marker)? + marker.len();
    name[at..].parse().ok()
}

/// The children that carry `marker` and a sequence, ordered by that sequence (the server's
/// order of creation). Other children are ignored.
pub(crate) fn sorted_by_sequence(children: Vec<String>, marker: &str) -> Vec<String> {
    let mut seq: Vec<(u64, String)> = children
        .into_iter()
        .filter_map(|c| sequence_of(&c, marker).map(|s| (s, c)))
        .collect();
    seq.sort();
    seq.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_java_text_form() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        let groups: Vec<usize> = u.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&u[14..15], "4", "version nibble");
        assert_ne!(uuid_v4(), u);
    }

    #[test]
    fn sorting_uses_the_sequence_not_the_guid() {
        let kids = vec![
            "_c_ffff-lock-0000000003".to_string(),
            "_c_0000-lock-0000000010".to_string(),
            "_c_aaaa-lock-0000000001".to_string(),
            "unrelated".to_string(),
        ];
        assert_eq!(
            sorted_by_sequence(kids, "lock-"),
            [
                "_c_aaaa-lock-0000000001",
                "_c_ffff-lock-0000000003",
                "_c_0000-lock-0000000010"
            ]
        );
        assert_eq!(sequence_of("x-lock-lock-0000000042", "lock-"), Some(42));
        assert_eq!(sequence_of("lock-", "lock-"), None);
    }
}
