//! One function per word; each writes exactly what ZooKeeper 3.9's command of that name writes.

mod conf;
mod connections;
mod dump;
mod mntr;
mod stats;
mod watches;

use crate::snapshot::Snapshot;
use crate::word::Word;
use crate::NOT_SERVING;
use std::fmt::{self, Write};

pub(crate) fn render(word: Word, snap: &Snapshot) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; the Result only carries `?` through the renderers.
    let _ = write_word(&mut out, word, snap);
    out
}

fn write_word(out: &mut String, word: Word, snap: &Snapshot) -> fmt::Result {
    match word {
        // These three answer whether or not the server is serving.
        Word::Ruok => out.write_str("imok"),
        Word::Envi => conf::envi(out, snap),
        Word::Isro => conf::isro(out, snap),
        _ if !snap.serving => writeln!(out, "{NOT_SERVING}"),
        Word::Srvr => stats::srvr(out, snap, false),
        Word::Stat => stats::srvr(out, snap, true),
        Word::Cons => connections::cons(out, snap),
        Word::Crst => writeln!(out, "Connection stats reset."),
        Word::Srst => writeln!(out, "Server stats reset."),
        Word::Conf => conf::conf(out, snap),
        Word::Dirs => conf::dirs(out, snap),
        Word::Wchs => watches::wchs(out, snap),
        Word::Wchc => watches::wchc(out, snap),
        Word::Wchp => watches::wchp(out, snap),
        Word::Dump => dump::dump(out, snap),
        Word::Mntr => mntr::mntr(out, snap),
    }
}

#[cfg(test)]
mod tests {
    use crate::sample;
    use crate::word::Word;

    #[test]
    fn not_serving_answers_like_zookeeper() {
        // Captured from a ZooKeeper 3.8 ensemble member that had lost its quorum.
        let mut snap = sample::standalone();
        snap.serving = false;
        for word in Word::ALL {
            let expected = match word {
                Word::Ruok => "imok".to_owned(),
                Word::Isro => "null".to_owned(),
                Word::Envi => word.render(&sample::standalone()),
                _ => "This ZooKeeper instance is not currently serving requests\n".to_owned(),
            };
            assert_eq!(word.render(&snap), expected, "{word:?}");
        }
    }

    #[test]
    fn resets_answer_like_zookeeper() {
        let snap = sample::standalone();
        assert_eq!(Word::Crst.render(&snap), "Connection stats reset.\n");
        assert_eq!(Word::Srst.render(&snap), "Server stats reset.\n");
        assert_eq!(Word::Ruok.render(&snap), "imok");
    }
}
