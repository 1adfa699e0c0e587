use super::*;
use std::io::Write;

fn parse(text: &str) -> ServerConfig {
    ServerConfig::from_str_contents(text).unwrap()
}

fn parse_err(text: &str) -> String {
    ServerConfig::from_str_contents(text)
        .unwrap_err()
        .to_string()
}

fn keys(lines: &[(String, String)]) -> Vec<&str> {
    lines.iter().map(|(k, _)| k.as_str()).collect()
}

fn value<'a>(lines: &'a [(String, String)], key: &str) -> &'a str {
    lines
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
}

const ENSEMBLE: &str = "tickTime=2000\ninitLimit=10\nsyncLimit=5\n\
    server.1=127.0.0.1:23881:23891;22921\n\
    server.2=127.0.0.1:23882:23892;22922\n\
    server.3=127.0.0.1:23883:23893:participant;127.0.0.1:22923\n\
    server.4=127.0.0.1:23884:23894:observer;22924\n";

#[test]
fn embedded_default() {
    let c = ServerConfig::default();
    assert_eq!(c.client_addr(), "127.0.0.1:2181".parse().unwrap());
    assert_eq!(c.tick_time_ms, 2000);
    assert_eq!(c.data_dir, PathBuf::from("./data"));
    assert_eq!(c.data_log_dir(), Path::new("./data"));
    assert_eq!(c.max_client_cnxns, 60);
    assert_eq!(c.min_session_timeout_ms(), 4000);
    assert_eq!(c.max_session_timeout_ms(), 40000);
    assert_eq!(c.jute_max_buffer, 1_048_575);
    assert_eq!(c.global_outstanding_limit, 1000);
    assert!(!c.read_only_mode_enabled);
    assert!(!c.extended_types_enabled);
    assert_eq!(c.super_digest, None);
    assert!(c.servers.is_empty());
    assert!(!c.is_distributed());
    for word in ["srvr", "ruok", "mntr", "stat", "isro"] {
        assert!(c.is_four_letter_word_allowed(word), "{word}");
    }
    for word in [
        "conf", "cons", "dump", "envi", "wchc", "crst", "srst", "dirs",
    ] {
        assert!(!c.is_four_letter_word_allowed(word), "{word}");
    }
}

#[test]
fn empty_file_is_the_embedded_default() {
    assert_eq!(parse(""), ServerConfig::default());
    assert_eq!(parse("# only a comment\n\n"), ServerConfig::default());
}

#[test]
fn every_known_key_is_read() {
    let c = parse(
        "tickTime=1000\n\
         dataDir=/var/lib/zk\n\
         dataLogDir=/var/log/zk\n\
         clientPort=2281\n\
         clientPortAddress=0.0.0.0\n\
         maxClientCnxns=0\n\
         minSessionTimeout=1500\n\
         maxSessionTimeout=90000\n\
         jute.maxbuffer=4194304\n\
         4lw.commands.whitelist=conf, cons\n\
         globalOutstandingLimit=5000\n\
         readonlymode.enabled=TRUE\n\
         extendedTypesEnabled=true\n\
         DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n\
         initLimit=20\n\
         syncLimit=7\n\
         clientPortListenBacklog=128\n\
         standaloneEnabled=false\n\
         peerType=observer\n\
         electionAlg=3\n\
         server.1=a:1:2\n",
    );
    assert_eq!(c.tick_time_ms, 1000);
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/zk"));
    assert_eq!(c.data_log_dir(), Path::new("/var/log/zk"));
    assert_eq!(c.client_addr(), "0.0.0.0:2281".parse().unwrap());
    assert_eq!(c.max_client_cnxns, 0);
    assert_eq!(c.min_session_timeout_ms(), 1500);
    assert_eq!(c.max_session_timeout_ms(), 90000);
    assert_eq!(c.jute_max_buffer, 4_194_304);
    assert_eq!(
        c.four_letter_words,
        FourLetterWhitelist::Only(["conf", "cons"].iter().map(|w| w.to_string()).collect())
    );
    assert_eq!(c.global_outstanding_limit, 5000);
    assert!(c.read_only_mode_enabled);
    assert!(c.extended_types_enabled);
    assert_eq!(
        c.super_digest.as_deref(),
        Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
    );
    assert_eq!((c.init_limit, c.sync_limit), (20, 7));
    assert_eq!(c.client_port_listen_backlog, 128);
    assert!(!c.standalone_enabled);
    assert_eq!(c.peer_type, LearnerType::Observer);
    assert!(c.unknown_keys.is_empty());
}

#[test]
fn unknown_keys_are_collected_not_fatal_and_known_ones_are_not() {
    let c = parse("fooBar=1\nsnapCount=100000\nadmin.serverPort=8080\nssl.keyStore.location=/x\nzookeeper.tickTime=5\n");
    assert_eq!(c.unknown_keys, vec!["fooBar", "zookeeper.tickTime"]);
    assert_eq!(c.tick_time_ms, 2000, "prefixed keys are not aliases");
}

#[test]
fn later_duplicates_win_like_java_properties() {
    assert_eq!(parse("clientPort=1\nclientPort=2\n").client_port, 2);
}

#[test]
fn data_log_dir_follows_data_dir_unless_set() {
    let c = ServerConfig::default().with_data_dir(PathBuf::from("/srv/zk"));
    assert_eq!(c.data_log_dir(), Path::new("/srv/zk"));
    let c = parse("dataLogDir=/fast/log\n").with_data_dir(PathBuf::from("/srv/zk"));
    assert_eq!(c.data_dir, PathBuf::from("/srv/zk"));
    assert_eq!(c.data_log_dir(), Path::new("/fast/log"));
}

#[test]
fn overrides() {
    let c = parse("clientPort=3000\n")
        .with_port(4000)
        .with_client_port_address("::1".parse().unwrap());
    assert_eq!(c.client_addr(), "[::1]:4000".parse().unwrap());
}

#[test]
fn session_timeouts_follow_tick_time_unless_set() {
    let c = parse("tickTime=500\n");
    assert_eq!(
        (c.min_session_timeout_ms(), c.max_session_timeout_ms()),
        (1000, 10000)
    );
    let c = parse("tickTime=500\nminSessionTimeout=-1\nmaxSessionTimeout=-1\n");
    assert_eq!(
        (c.min_session_timeout_ms(), c.max_session_timeout_ms()),
        (1000, 10000)
    );
    let c = parse("tickTime=500\nminSessionTimeout=300\n");
    assert_eq!(
        (c.min_session_timeout_ms(), c.max_session_timeout_ms()),
        (300, 10000)
    );
}

#[test]
fn negotiate_session_timeout_clamps_like_zookeeper() {
    let c = parse("minSessionTimeout=4000\nmaxSessionTimeout=40000\n");
    assert_eq!(c.negotiate_session_timeout(30000), 30000);
    assert_eq!(c.negotiate_session_timeout(4000), 4000);
    assert_eq!(c.negotiate_session_timeout(40000), 40000);
    assert_eq!(c.negotiate_session_timeout(3999), 4000);
    assert_eq!(c.negotiate_session_timeout(4001), 4001);
    assert_eq!(c.negotiate_session_timeout(39999), 39999);
    assert_eq!(c.negotiate_session_timeout(1), 4000);
    assert_eq!(c.negotiate_session_timeout(0), 4000);
    assert_eq!(c.negotiate_session_timeout(-5), 4000);
    assert_eq!(c.negotiate_session_timeout(40001), 40000);
    assert_eq!(c.negotiate_session_timeout(i32::MAX), 40000);
    let c = parse("minSessionTimeout=7000\nmaxSessionTimeout=7000\n");
    assert_eq!(c.negotiate_session_timeout(100), 7000);
    assert_eq!(c.negotiate_session_timeout(100_000), 7000);
}

#[test]
fn whitelist_forms() {
    let c = parse("4lw.commands.whitelist=*\n");
    assert_eq!(c.four_letter_words, FourLetterWhitelist::All);
    for word in jute::frame::FOUR_LETTER_WORDS {
        assert!(c.is_four_letter_word_allowed(word), "{word}");
    }
    assert!(!c.is_four_letter_word_allowed("xyzw"), "not a word at all");
    assert!(
        !c.is_four_letter_word_allowed("RUOK"),
        "words are case-sensitive"
    );

    let c = parse("4lw.commands.whitelist=ruok  stat,\tconf , \n");
    for word in ["ruok", "stat", "conf"] {
        assert!(c.is_four_letter_word_allowed(word), "{word}");
    }
    assert!(!c.is_four_letter_word_allowed("mntr"));

    let c = parse("4lw.commands.whitelist=ruok, *\n");
    assert_eq!(c.four_letter_words, FourLetterWhitelist::All);
}

#[test]
fn srvr_is_always_allowed_and_isro_with_read_only_mode() {
    let c = parse("4lw.commands.whitelist=\n");
    assert_eq!(
        c.four_letter_words,
        FourLetterWhitelist::Only(BTreeSet::new())
    );
    assert!(c.is_four_letter_word_allowed("srvr"));
    assert!(!c.is_four_letter_word_allowed("isro"));
    assert!(!c.is_four_letter_word_allowed("ruok"));
    let c = parse("4lw.commands.whitelist=ruok\nreadonlymode.enabled=true\n");
    assert!(c.is_four_letter_word_allowed("isro"));
    assert!(c.is_four_letter_word_allowed("ruok"));
    assert!(!c.is_four_letter_word_allowed("stat"));
}

#[test]
fn conf_lines_standalone_in_zookeeper_order() {
    let c = parse("tickTime=2000\ndataDir=/tmp/zkprobe/data\nclientPort=21911\n");
    let lines = c.conf_lines(457, 458);
    // Order captured from ZooKeeper 3.8's `conf` on a standalone server.
    assert_eq!(
        keys(&lines),
        [
            "clientPort",
            "secureClientPort",
            "dataDir",
            "dataDirSize",
            "dataLogDir",
            "dataLogSize",
            "tickTime",
            "maxClientCnxns",
            "minSessionTimeout",
            "maxSessionTimeout",
            "clientPortListenBacklog",
            "serverId",
        ]
    );
    let values: Vec<&str> = lines.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(
        values,
        [
            "21911",
            "-1",
            "/tmp/zkprobe/data",
            "457",
            "/tmp/zkprobe/data",
            "458",
            "2000",
            "60",
            "4000",
            "40000",
            "-1",
            "0",
        ]
    );
}

#[test]
fn conf_lines_make_relative_dirs_absolute() {
    let c = ServerConfig::default().with_data_dir(PathBuf::from("rel/data"));
    let lines = c.conf_lines(0, 0);
    let data_dir = value(&lines, "dataDir");
    assert!(Path::new(data_dir).is_absolute(), "{data_dir}");
    assert!(data_dir.ends_with("rel/data"), "{data_dir}");
}

#[test]
fn conf_lines_of_an_ensemble_member() {
    let mut c = parse(&format!("{ENSEMBLE}dataDir=/d1\n"));
    c.my_id = Some(4);
    let lines = c.conf_lines(1, 2);
    assert_eq!(
        keys(&lines)[11..],
        [
            "serverId",
            "initLimit",
            "syncLimit",
            "electionAlg",
            "electionPort",
            "quorumPort",
            "peerType"
        ]
    );
    assert_eq!(value(&lines, "serverId"), "4");
    assert_eq!(value(&lines, "electionPort"), "23894");
    assert_eq!(value(&lines, "quorumPort"), "23884");
    assert_eq!(value(&lines, "peerType"), "1");
    assert_eq!(value(&lines, "electionAlg"), "3");
    c.my_id = Some(1);
    assert_eq!(value(&c.conf_lines(0, 0), "peerType"), "0");
}

#[test]
fn server_lines_are_typed_and_sorted() {
    let c = parse("server.3=c:1:2\nserver.1=a:1:2\nserver.2=b:1:2:observer\n");
    let ids: Vec<u64> = c.servers.iter().map(|s| s.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(c.servers[1].learner_type, LearnerType::Observer);
    assert!(c.is_distributed());
}

#[test]
fn one_participant_is_standalone_unless_standalone_is_disabled() {
    let c = parse("server.1=a:1:2\n");
    assert!(!c.is_distributed());
    let c = parse("server.1=a:1:2\nstandaloneEnabled=false\n");
    assert!(c.is_distributed());
}

#[test]
fn learner_type_prefers_the_server_line() {
    let mut c = parse(&format!("{ENSEMBLE}peerType=observer\n"));
    assert_eq!(c.learner_type(), LearnerType::Observer);
    c.my_id = Some(1);
    assert_eq!(c.learner_type(), LearnerType::Participant);
    assert_eq!(c.me().map(|s| s.quorum_port), Some(23881));
}

#[test]
fn invalid_values_name_key_and_value() {
    let cases = [
        ("tickTime=abc\n", "tickTime", "\"abc\""),
        ("tickTime=0\n", "tickTime", "\"0\""),
        ("tickTime=-2000\n", "tickTime", "\"-2000\""),
        ("tickTime=99999999999\n", "tickTime", "not an integer"),
        ("clientPort=70000\n", "clientPort", "\"70000\""),
        ("clientPort=-1\n", "clientPort", "\"-1\""),
        ("clientPort=21 81\n", "clientPort", "\"21 81\""),
        ("maxClientCnxns=-1\n", "maxClientCnxns", "\"-1\""),
        ("minSessionTimeout=-2\n", "minSessionTimeout", "\"-2\""),
        ("maxSessionTimeout=lots\n", "maxSessionTimeout", "\"lots\""),
        ("jute.maxbuffer=0\n", "jute.maxbuffer", "\"0\""),
        (
            "globalOutstandingLimit=x\n",
            "globalOutstandingLimit",
            "\"x\"",
        ),
        (
            "readonlymode.enabled=yes\n",
            "readonlymode.enabled",
            "\"yes\"",
        ),
        ("extendedTypesEnabled=1\n", "extendedTypesEnabled", "\"1\""),
        (
            "standaloneEnabled=maybe\n",
            "standaloneEnabled",
            "\"maybe\"",
        ),
        (
            "DigestAuthenticationProvider.superDigest=nocolon\n",
            "DigestAuthenticationProvider.superDigest",
            "\"nocolon\"",
        ),
        (
            "DigestAuthenticationProvider.superDigest=super:short=\n",
            "DigestAuthenticationProvider.superDigest",
            "\"super:short=\"",
        ),
        (
            "DigestAuthenticationProvider.superDigest=:D/InIHSb7yEEbrWz8b9l71RjZJU=\n",
            "DigestAuthenticationProvider.superDigest",
            "28 base64",
        ),
        ("initLimit=-1\n", "initLimit", "\"-1\""),
        ("syncLimit=ten\n", "syncLimit", "\"ten\""),
        (
            "clientPortListenBacklog=-5\n",
            "clientPortListenBacklog",
            "\"-5\"",
        ),
        ("peerType=leader\n", "peerType", "\"leader\""),
        ("electionAlg=1\n", "electionAlg", "\"1\""),
        ("dataDir=\n", "dataDir", "empty path"),
        ("dataLogDir=\n", "dataLogDir", "empty path"),
        ("clientPortAddress=\n", "clientPortAddress", "empty address"),
        (
            "clientPortAddress=no-such-host.invalid\n",
            "clientPortAddress",
            "\"no-such-host.invalid\"",
        ),
        ("server.x=a:1:2\n", "server.x", "not a number"),
        ("server.1=a:1\n", "server.1", "\"a:1\""),
        ("server.1=a:1:1\n", "server.1", "must be different"),
        ("server.1=a:1:2:boss\n", "server.1", "boss"),
    ];
    for (text, key, detail) in cases {
        let err = ServerConfig::from_str_contents(text).unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidValue { key: k, .. } if k == key),
            "{text:?}: wrong error {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(key), "{text:?}: `{message}` lacks key");
        assert!(
            message.contains(detail),
            "{text:?}: `{message}` lacks `{detail}`"
        );
    }
}

#[test]
fn min_session_timeout_above_max_is_rejected() {
    let err = ServerConfig::from_str_contents("minSessionTimeout=5000\nmaxSessionTimeout=4000\n")
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::SessionTimeoutRange {
            min: 5000,
            max: 4000
        }
    ));
    assert_eq!(
        err.to_string(),
        "minSessionTimeout=5000 must not be larger than maxSessionTimeout=4000"
    );
    // The derived maximum counts too: 20 × 100 ms < 5000.
    let message = parse_err("tickTime=100\nminSessionTimeout=5000\n");
    assert!(message.contains("maxSessionTimeout=2000"), "{message}");
}

#[test]
fn unsupported_keys_are_errors_not_silence() {
    let message = parse_err("dynamicConfigFile=/etc/zk/zoo.cfg.dynamic\n");
    assert!(message.contains("dynamicConfigFile"), "{message}");
    let message = parse_err("group.1=1:2:3\n");
    assert!(message.contains("group.1"), "{message}");
    let message = parse_err("weight.1=1\n");
    assert!(message.contains("weight.1"), "{message}");
}

#[test]
fn duplicate_server_ids_are_rejected() {
    let err = ServerConfig::from_str_contents("server.1=a:1:2\nserver.01=b:1:2\n").unwrap_err();
    assert!(
        matches!(&err, ConfigError::DuplicateServer { id: 1, first, second }
            if first == "server.1" && second == "server.01"),
        "{err:?}"
    );
}

#[test]
fn malformed_escape_names_the_line() {
    let err = ServerConfig::from_str_contents("tickTime=2000\ndataDir=\\u00zz\n").unwrap_err();
    assert!(
        matches!(err, ConfigError::MalformedEscape { line: 2 }),
        "{err:?}"
    );
}

#[test]
fn ensemble_shape_errors() {
    let message = parse_err("server.1=a:1:2:observer\n");
    assert!(
        message.contains("observers without participants"),
        "{message}"
    );
    let message = parse_err("server.1=a:1:2\nserver.2=b:1:2:observer\n");
    assert!(message.contains("observers without a quorum"), "{message}");
    let message = parse_err("server.1=a:1:2\nserver.2=b:1:2\ninitLimit=0\n");
    assert!(message.contains("initLimit"), "{message}");
    let message = parse_err("server.1=a:1:2\nserver.2=b:1:2\nsyncLimit=0\n");
    assert!(message.contains("syncLimit"), "{message}");
    let message = parse_err("standaloneEnabled=false\n");
    assert!(message.contains("at least one participant"), "{message}");
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("zoo.cfg");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    path
}

#[test]
fn from_file_reads_myid_and_takes_the_client_address_from_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("myid"), "3\n").unwrap();
    let text = format!("{ENSEMBLE}dataDir={}\n", dir.path().display());
    let c = ServerConfig::from_file(write_config(dir.path(), &text)).unwrap();
    assert_eq!(c.my_id, Some(3));
    assert_eq!(c.client_addr(), "127.0.0.1:22923".parse().unwrap());
    assert_eq!(value(&c.conf_lines(0, 0), "serverId"), "3");

    std::fs::write(dir.path().join("myid"), "1").unwrap();
    let c = ServerConfig::from_file(dir.path().join("zoo.cfg")).unwrap();
    // Only a port on the line: ZooKeeper binds every interface.
    assert_eq!(c.client_addr(), "0.0.0.0:22921".parse().unwrap());
}

#[test]
fn from_file_standalone_without_myid() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("clientPort=2999\ndataDir={}\n", dir.path().display());
    let c = ServerConfig::from_file(write_config(dir.path(), &text)).unwrap();
    assert_eq!(c.my_id, None);
    assert_eq!(c.client_port, 2999);
}

#[test]
fn from_file_errors() {
    let err = ServerConfig::from_file("/nonexistent/zoo.cfg").unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/zoo.cfg"));

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display();
    let cfg = write_config(dir.path(), &format!("{ENSEMBLE}dataDir={data}\n"));
    let message = ServerConfig::from_file(&cfg).unwrap_err().to_string();
    assert!(message.contains("myid file is missing"), "{message}");

    std::fs::write(dir.path().join("myid"), "one\n").unwrap();
    let err = ServerConfig::from_file(&cfg).unwrap_err();
    assert!(
        matches!(&err, ConfigError::InvalidMyId { value, .. } if value == "one"),
        "{err:?}"
    );
    assert!(err.to_string().contains("myid"));

    std::fs::write(dir.path().join("myid"), "9\n").unwrap();
    let message = ServerConfig::from_file(&cfg).unwrap_err().to_string();
    assert!(message.contains("myid 9 has no server.9 line"), "{message}");

    std::fs::write(dir.path().join("myid"), "1\n").unwrap();
    let cfg = write_config(
        dir.path(),
        &format!("{ENSEMBLE}dataDir={data}\nclientPort=2181\n"),
    );
    let message = ServerConfig::from_file(&cfg).unwrap_err().to_string();
    assert!(
        message.contains("clientPort=2181 differs from the client port 22921 in server.1"),
        "{message}"
    );
}

#[test]
fn read_my_id_ignores_a_missing_file_and_reads_only_the_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ServerConfig::default().with_data_dir(dir.path().to_owned());
    c.read_my_id().unwrap();
    assert_eq!(c.my_id, None);
    std::fs::write(dir.path().join("myid"), " 7 \nextra\n").unwrap();
    c.read_my_id().unwrap();
    assert_eq!(c.my_id, Some(7));
}

#[test]
fn peer_type_mismatch_follows_the_server_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("myid"), "4").unwrap();
    let text = format!(
        "{ENSEMBLE}dataDir={}\npeerType=participant\n",
        dir.path().display()
    );
    let c = ServerConfig::from_file(write_config(dir.path(), &text)).unwrap();
    assert_eq!(c.peer_type, LearnerType::Observer);
}

#[test]
fn pre_alloc_size_sets_the_log_segment_size() {
    let default = ServerConfig::default().log_layout();
    assert_eq!(default.segment_size, 64 << 20);
    assert!(
        default.preallocate,
        "the server reserves its log segments, as ZooKeeper does"
    );
    let c = parse("preAllocSize=1024\n");
    assert_eq!(c.log_layout().segment_size, 1 << 20);
    assert!(c.unknown_keys.is_empty());
    assert!(parse_err("preAllocSize=0\n").contains("preAllocSize"));
}
