//! The data of a Curator queue node (`ItemSerializer`): int32 version `0x00010001`, then for
//! each item the byte `0x01`, an int32 length and the bytes, then the byte `0x02`. Curator
//! stops reading at `0x02`, so bytes after it are ignored by Curator consumers; our producers
//! put a tag there that lets them find their own node after a lost reply.

/// Curator's `ItemSerializer.VERSION`.
const VERSION: i32 = 0x0001_0001;
const ITEM_OPCODE: u8 = 0x01;
const EOF_OPCODE: u8 = 0x02;
/// Marks our trailer after the end of the items.
const TAG_MAGIC: &[u8; 4] = b"FKq1";

/// Encodes `items` followed by a trailer carrying `tag`.
pub(crate) fn encode(items: &[&[u8]], tag: &str) -> Vec<u8> {
    let len: usize = items.iter().map(|i| 5 + i.len()).sum();
    let mut out = Vec::with_capacity(4 + len + 1 + TAG_MAGIC.len() + tag.len());
    out.extend_from_slice(&VERSION.to_be_bytes());
    for item in items {
        out.push(ITEM_OPCODE);
        // Item sizes are bounded by the server's packet limit (about 1 MiB).
        out.extend_from_slice(&(item.len() as u32).to_be_bytes());
        out.extend_from_slice(item);
    }
    out.push(EOF_OPCODE);
    out.extend_from_slice(TAG_MAGIC);
    out.extend_from_slice(tag.as_bytes());
    out
}

/// What a queue node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub(crate) items: Vec<Vec<u8>>,
    /// Our producer's tag, absent in nodes written by Curator.
    pub(crate) tag: Option<String>,
}

/// Decodes a queue node's data; the reason if it is not in Curator's format.
pub(crate) fn decode(data: &[u8]) -> Result<Decoded, String> {
    let mut at = 0usize;
    let version = take(data, &mut at, 4)?;
    let version = i32::from_be_bytes([version[0], version[1], version[2], version[3]]);
    if version != VERSION {
        return Err(format!("version {version:#x}, expected {VERSION:#x}"));
    }
    let mut items = Vec::new();
    loop {
        match take(data, &mut at, 1)?[0] {
            EOF_OPCODE => break,
            ITEM_OPCODE => {
                let n = take(data, &mut at, 4)?;
                let n = i32::from_be_bytes([n[0], n[1], n[2], n[3]]);
                let n = usize::try_from(n).map_err(|_| format!("negative item size {n}"))?;
                items.push(take(data, &mut at, n)?.to_vec());
            }
            other => return Err(format!("opcode {other:#x}, expected 0x01 or 0x02")),
        }
    }
    let rest = &data[at..];
    let tag = rest
        .strip_prefix(TAG_MAGIC.as_slice())
        .map(|t| String::from_utf8_lossy(t).into_owned());
    Ok(Decoded { items, tag })
}

fn take<'a>(data: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], String> {
    let end = at
        .checked_add(n)
        .filter(|e| *e <= data.len())
        .ok_or_else(|| format!("truncated at byte {at} (wanted {n} more)"))?;
    let s = &data[*at..end];
    *at = end;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curator_bytes_round_trip() {
        // What Curator's ItemSerializer writes for one item "hi".
        let curator = [0, 1, 0, 1, 1, 0, 0, 0, 2, b'h', b'i', 2];
        assert_eq!(
            decode(&curator).unwrap(),
            Decoded {
                items: vec![b"hi".to_vec()],
                tag: None
            }
        );
        let ours = encode(&[b"hi"], "guid-1");
        assert_eq!(&ours[..curator.len()], &curator, "Curator-readable prefix");
        let back = decode(&ours).unwrap();
        assert_eq!(back.items, [b"hi".to_vec()]);
        assert_eq!(back.tag.as_deref(), Some("guid-1"));
    }

    #[test]
    fn multi_items_and_empty_items() {
        let data = encode(&[b"", b"abc", b"d"], "t");
        let d = decode(&data).unwrap();
        assert_eq!(d.items, [b"".to_vec(), b"abc".to_vec(), b"d".to_vec()]);
    }

    #[test]
    fn malformed_data_is_refused() {
        assert!(decode(b"").is_err());
        assert!(decode(&[0, 1, 0, 2, 2]).is_err(), "version");
        assert!(
            decode(&[0, 1, 0, 1, 1, 0, 0, 0, 9, b'x']).is_err(),
            "truncated"
        );
        assert!(
            decode(&[0, 1, 0, 1, 1, 0xff, 0xff, 0xff, 0xff]).is_err(),
            "size"
        );
        assert!(decode(&[0, 1, 0, 1, 7]).is_err(), "opcode");
        assert!(decode(&[0, 1, 0, 1]).is_err(), "no end");
    }
}
