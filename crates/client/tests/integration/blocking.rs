//! The blocking facade, used from plain threads with no runtime of their own.

use crate::common::{server, within};
use client::blocking::Client;
use client::{AddWatchMode, CreateOptions, Error, EventType, OpResult, SessionState};
use std::time::Duration;
use testkit::Target;

fn blocking_client_works_without_a_runtime(target: Target) {
    let s = server(target);
    let root = testkit::unique_root("blocking");
    let zk = Client::connect(&s.connect_string()).unwrap();
    assert_eq!(zk.state(), SessionState::Connected);
    zk.create(&root, b"r", &CreateOptions::persistent())
        .unwrap();
    let child = format!("{root}/c");
    let (data, _, watch) = zk.get_data_w(&root).unwrap();
    assert_eq!(data, b"r");
    let mut stream = zk
        .add_watch(&root, AddWatchMode::PersistentRecursive)
        .unwrap();

    // A change from another thread and session fires the watch seen by this thread.
    let other_cs = s.connect_string();
    let root2 = root.clone();
    std::thread::spawn(move || {
        let other = Client::connect(&other_cs).unwrap();
        other.set_data(&root2, b"changed", None).unwrap();
    })
    .join()
    .unwrap();
    let ev = watch.wait_blocking();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDataChanged, root.as_str())
    );
    let ev = stream.next_blocking().unwrap();
    assert_eq!(ev.event_type, EventType::NodeDataChanged);

    let results = zk
        .multi(|m| {
            m.create(&child, b"", &CreateOptions::ephemeral())
                .set_data(&root, b"again", Some(1))
        })
        .unwrap();
    assert!(matches!(&results[0], OpResult::Create { path, .. } if *path == child));
    assert_eq!(zk.get_children(&root).unwrap(), ["c"]);
    assert_eq!(zk.delete(&root, None), Err(Error::NotEmpty));
    // Any async call the facade lacks runs through block_on.
    let n =
        zk.block_on(async { within("count", zk.as_async().get_all_children_number(&root)).await });
    assert_eq!(n, Ok(1));

    // Dropping the last handle closes the session: its ephemeral goes at once.
    let observer = Client::connect(&s.connect_string()).unwrap();
    let clone = zk.clone();
    drop(zk);
    assert!(
        observer.exists(&child).unwrap().is_some(),
        "a clone keeps it open"
    );
    drop(clone);
    assert_eq!(observer.exists(&child), Ok(None));
    assert_eq!(
        observer.wait_for_state(SessionState::Connected, Duration::from_secs(1)),
        SessionState::Connected
    );
    observer.close().unwrap();
    assert_eq!(observer.state(), SessionState::Closed);
}

mod zookeeper {
    #[test]
    fn blocking_client_works_without_a_runtime() {
        super::blocking_client_works_without_a_runtime(testkit::Target::ZooKeeper);
    }
}

mod ferrokeeper {
    #[test]
    fn blocking_client_works_without_a_runtime() {
        super::blocking_client_works_without_a_runtime(testkit::Target::Ferrokeeper);
    }
}
