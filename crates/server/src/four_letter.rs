//! Four-letter words on the client port: gather what the word needs, render it through `admin`.

use crate::context::ServerContext;

/// The text answering `word`.
pub async fn answer(ctx: &ServerContext, word: &str) -> String {
    let _ = ctx;
    match word {
        "ruok" => "imok".to_owned(),
        _ => format!("{word} is not executed because it is not in the whitelist.\n"),
    }
}
