//! `multi` and `multiRead`: typed results, failures with per-op outcomes, every create mode.

use crate::common::{both_targets, Ctx};
use client::{CreateMode, CreateOptions, Error, MultiError, OpResult, ReadResult};

async fn multi_commits_every_op(ctx: Ctx) {
    let c = ctx.client().await;
    let a = ctx.path("a");
    let b = ctx.path("b");
    c.create(&b, b"old", &CreateOptions::persistent())
        .await
        .unwrap();
    let gone = ctx.path("gone");
    c.create(&gone, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let seq = CreateOptions::persistent().with_mode(CreateMode::PersistentSequential);
    let results = c
        .multi()
        .create(&a, b"new", &CreateOptions::persistent())
        .create(&ctx.path("s-"), b"", &seq)
        .check(&b, 0)
        .set_data(&b, b"changed", Some(0))
        .delete(&gone, None)
        .commit()
        .await
        .unwrap();
    assert_eq!(results.len(), 5);
    let OpResult::Create { path, stat } = &results[0] else {
        panic!("{:?}", results[0]);
    };
    assert_eq!(path, &a);
    let real = c.exists(&a).await.unwrap().expect("created");
    // Servers with ZOOKEEPER-4026 (Debian's 3.8.0) leave the stat out; when present it is exact.
    if let Some(stat) = stat {
        assert_eq!(stat, &real);
    }
    let OpResult::Create { path: seq_path, .. } = &results[1] else {
        panic!("{:?}", results[1]);
    };
    assert_eq!(seq_path.len(), ctx.path("s-").len() + 10);
    assert_eq!(results[2], OpResult::Check);
    let OpResult::SetData { stat } = &results[3] else {
        panic!("{:?}", results[3]);
    };
    assert_eq!(stat.version, 1);
    assert_eq!(results[4], OpResult::Delete);
    assert_eq!(c.get_data(&b).await.unwrap().0, b"changed");
    assert_eq!(c.exists(&gone).await, Ok(None));
    // Every op of one multi shares one zxid.
    assert_eq!(real.czxid, stat.mzxid);
}

async fn failed_multi_applies_nothing_and_reports_each_op(ctx: Ctx) {
    let c = ctx.client().await;
    let exists = ctx.path("exists");
    c.create(&exists, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let fresh = ctx.path("fresh");
    let err = c
        .multi()
        .create(&fresh, b"", &CreateOptions::persistent())
        .create(&exists, b"", &CreateOptions::persistent())
        .set_data(&exists, b"x", None)
        .commit()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        MultiError::Failed {
            index: 1,
            error: Error::NodeExists,
            results: vec![
                Ok(()),
                Err(Error::NodeExists),
                Err(Error::RuntimeInconsistency)
            ],
        }
    );
    assert_eq!(err.error(), &Error::NodeExists);
    assert_eq!(c.exists(&fresh).await, Ok(None), "nothing applied");
    assert_eq!(c.get_data(&exists).await.unwrap().1.version, 0);

    let err = c
        .multi()
        .check(&exists, 7)
        .delete(&exists, None)
        .commit()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            MultiError::Failed {
                index: 0,
                error: Error::BadVersion,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(Error::from(err), Error::BadVersion);
    // A bad argument fails before anything is sent.
    assert!(matches!(
        c.multi().delete("nope", None).commit().await,
        Err(MultiError::Request(Error::InvalidArgument(_)))
    ));
    assert_eq!(c.multi().commit().await, Ok(vec![]));
}

async fn multi_creates_containers_ttl_and_ephemerals(ctx: Ctx) {
    let c = ctx.client().await;
    let results = c
        .multi()
        .create(&ctx.path("box"), b"", &CreateOptions::container())
        .create(
            &ctx.path("ttl"),
            b"",
            &CreateOptions::persistent().with_ttl(CreateMode::PersistentWithTtl, 60_000),
        )
        .create(&ctx.path("eph"), b"", &CreateOptions::ephemeral())
        .commit()
        .await
        .unwrap();
    let paths: Vec<&str> = results
        .iter()
        .map(|r| match r {
            OpResult::Create { path, .. } => path.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(paths, [ctx.path("box"), ctx.path("ttl"), ctx.path("eph")]);
    let eph = c.exists(&ctx.path("eph")).await.unwrap().unwrap();
    assert_eq!(eph.ephemeral_owner, c.session_id());
}

async fn multi_read_answers_each_read(ctx: Ctx) {
    let c = ctx.client().await;
    let p = ctx.path("r");
    c.create(&p, b"val", &CreateOptions::persistent())
        .await
        .unwrap();
    c.create(&format!("{p}/k"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let results = c
        .multi_read()
        .get_data(&p)
        .get_children(&p)
        .get_data(&ctx.path("missing"))
        .get_children(&ctx.path("missing"))
        .commit()
        .await
        .unwrap();
    assert_eq!(results.len(), 4);
    let Ok(ReadResult::Data { data, stat }) = &results[0] else {
        panic!("{:?}", results[0]);
    };
    assert_eq!((data.as_slice(), stat.num_children), (&b"val"[..], 1));
    assert_eq!(
        results[1],
        Ok(ReadResult::Children {
            children: vec!["k".into()]
        })
    );
    assert_eq!(results[2], Err(Error::NoNode));
    assert_eq!(results[3], Err(Error::NoNode));
}

both_targets!(
    multi_commits_every_op,
    failed_multi_applies_nothing_and_reports_each_op,
    multi_creates_containers_ttl_and_ephemerals,
    multi_read_answers_each_read,
);
