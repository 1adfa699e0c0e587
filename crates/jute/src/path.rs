//! ZooKeeper's path rules (`PathUtils.validatePath`), shared by the server and the client so both
//! refuse exactly the same paths.

/// Why a path is not a valid znode path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path must not be empty")]
    Empty,
    #[error("path must start with /")]
    NotAbsolute,
    #[error("path must not end with /")]
    TrailingSlash,
    #[error("path must not contain an empty segment")]
    EmptySegment,
    #[error("path must not contain . or .. segments")]
    RelativeSegment,
    #[error("path contains the invalid character {0:?}")]
    InvalidChar(char),
}

/// Checks `path`. `sequential` judges it as a sequential create does: the server appends digits,
/// so the path may end with `/` (naming only the parent) and its last segment may be `.`.
pub fn validate_path(path: &str, sequential: bool) -> Result<(), PathError> {
    if sequential {
        let mut with_digit = String::with_capacity(path.len() + 1);
        with_digit.push_str(path);
        with_digit.push('1');
        return validate(&with_digit);
    }
    validate(path)
}

fn validate(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(PathError::TrailingSlash);
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() {
            return Err(PathError::EmptySegment);
        }
        if segment == "." || segment == ".." {
            return Err(PathError::RelativeSegment);
        }
        if let Some(c) = segment.chars().find(|&c| is_forbidden_char(c)) {
            return Err(PathError::InvalidChar(c));
        }
    }
    Ok(())
}

/// Java judges UTF-16 units: anything outside the Basic Multilingual Plane arrives as a surrogate
/// pair, which falls in the forbidden `\ud800..\uf8ff` range.
fn is_forbidden_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{e000}'..='\u{f8ff}'
        | '\u{fff0}'..='\u{ffff}')
        || (c as u32) > 0xffff
}
