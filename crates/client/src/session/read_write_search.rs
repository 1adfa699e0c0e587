//! While connected to a read-only server, looking for a read-write one among the other servers of
//! the connect string, as ZooKeeper's client does: it asks each in turn with the `isro` four-letter
//! word (answer `rw` or `ro`), pausing longer after every question, and moves the session to the
//! first server that answers `rw`.

use crate::connect_string::HostPort;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The pause before the first question; ZooKeeper's client starts at the same.
pub(super) const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The pause doubles after each question up to this; ZooKeeper's client stops at the same.
pub(super) const LONGEST_PAUSE: Duration = Duration::from_secs(60);

/// How long one server may take to answer `isro`.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// `isro` answers are two letters and maybe a newline; anything longer is not an answer.
const MAX_ANSWER: u64 = 64;

/// The pauses between questions: [`FIRST_PAUSE`], doubling up to [`LONGEST_PAUSE`].
#[derive(Debug, Clone)]
pub(super) struct Pauses {
    next: Duration,
}

impl Default for Pauses {
    fn default() -> Self {
        Pauses { next: FIRST_PAUSE }
    }
}

impl Iterator for Pauses {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let pause = self.next;
        self.next = (self.next * 2).min(LONGEST_PAUSE);
        Some(pause)
    }
}

/// Asks the servers of `hosts` other than `current` (the read-only one the session is on), in
/// turn from the one after it, whether they serve writes. Returns the index of the first that
/// does; never returns if none ever does, so it is meant to be raced against the connection.
pub(super) async fn find_read_write_server(hosts: Vec<HostPort>, current: usize) -> usize {
    if hosts.len() < 2 {
        return std::future::pending().await;
    }
    let mut candidate = current;
    for pause in Pauses::default() {
        tokio::time::sleep(pause).await;
        candidate = (candidate + 1) % hosts.len();
        if candidate == current {
            candidate = (candidate + 1) % hosts.len();
        }
        if is_read_write(&hosts[candidate]).await {
            return candidate;
        }
    }
    // `Pauses` never ends.
    std::future::pending().await
}

/// True if `host` answers `isro` with `rw`. A server that is down, slow, read-only, or does not
/// allow `isro` is not read-write as far as the session can tell.
pub(super) async fn is_read_write(host: &HostPort) -> bool {
    let ask = async {
        let mut stream = TcpStream::connect((host.host.as_str(), host.port)).await?;
        stream.write_all(b"isro").await?;
        let mut answer = Vec::new();
        stream.take(MAX_ANSWER).read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(ANSWER_TIMEOUT, ask).await {
        Ok(Ok(answer)) => {
            let rw = answer.trim_ascii_end() == b"rw";
            tracing::debug!(server = %host, answer = %String::from_utf8_lossy(&answer).trim_end(), "isro");
            rw
        }
        Ok(Err(e)) => {
            tracing::debug!(server = %host, error = %e, "isro failed");
            false
        }
        Err(_) => {
            tracing::debug!(server = %host, "isro unanswered");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn pauses_double_from_100_ms_up_to_a_minute() {
        let pauses: Vec<u64> = Pauses::default()
            .take(13)
            .map(|p| p.as_millis() as u64)
            .collect();
        assert_eq!(
            pauses,
            [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000, 60000]
        );
    }

    /// A server that answers one `isro` with `answer`, then closes.
    async fn answering(answer: &'static [u8]) -> HostPort {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut word = [0u8; 4];
            s.read_exact(&mut word).await.unwrap();
            assert_eq!(&word, b"isro");
            s.write_all(answer).await.unwrap();
        });
        HostPort {
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[tokio::test]
    async fn only_rw_counts_as_read_write() {
        assert!(is_read_write(&answering(b"rw").await).await);
        assert!(is_read_write(&answering(b"rw\n").await).await);
        assert!(!is_read_write(&answering(b"ro").await).await);
        assert!(!is_read_write(&answering(b"isro is not executed").await).await);
        assert!(!is_read_write(&answering(b"").await).await);
    }

    #[tokio::test]
    async fn the_search_skips_the_current_server_and_finds_the_read_write_one() {
        // The current server would say `rw` too: were it asked, the search would pick it.
        let current = answering(b"rw").await;
        let ro = answering(b"ro").await;
        let rw = answering(b"rw").await;
        let found = tokio::time::timeout(
            Duration::from_secs(10),
            find_read_write_server(vec![current, ro, rw], 0),
        )
        .await
        .expect("found in time");
        assert_eq!(found, 2);
    }
}
