use super::*;
use crate::snapshot::HistoryPage;

/// [`super::decode`] of bytes in memory.
fn decode(bytes: &[u8], now: u64) -> Result<Decoded, String> {
    super::decode(bytes, now).map_err(|e| e.to_string())
}

/// A `/history` answer, parsed.
fn page(h: &History, since: u64, limit: usize) -> HistoryPage {
    let body = h.page_json(since, limit);
    assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
    serde_json::from_slice(&body).unwrap()
}

fn samples_of(h: &History) -> Vec<HistorySample> {
    h.ring().iter().map(Entry::sample).collect()
}

/// An entry at `t` with every figure set.
fn entry(t: u64) -> Entry {
    Entry {
        t,
        memory_total: 8_000_000_000,
        memory_used: 2_000_000_000,
        disk_total: 64_000_000_000,
        disk_used: 16_000_000_000,
        bytes_sent: 1_000_000 + t,
        bytes_recv: 2_000_000 + t,
        uptime_secs: 86_400,
        bytes_sent_per_sec: 1024.5,
        bytes_recv_per_sec: 123_456_789.1,
        disk_read_per_sec: 0.0,
        disk_write_per_sec: 4096.0,
        cpu_percent: 12.3,
        memory_percent: 25.0,
        disk_percent: 25.0,
        swap_percent: 0.1,
        load_1: 0.52,
        temperature: 48.3,
    }
}

fn ring_of(capacity: usize, times: impl IntoIterator<Item = u64>) -> Ring {
    let mut r = Ring::new(capacity);
    for t in times {
        r.push(entry(t));
    }
    r
}

fn times(entries: &[Entry]) -> Vec<u64> {
    entries.iter().map(|e| e.t).collect()
}

fn all(r: &Ring) -> Vec<u64> {
    r.iter().map(|e| e.t).collect()
}

/// A file of entries at `ts`, written as given (even out of order).
fn file_of(ts: &[u64]) -> Vec<u8> {
    let entries: Vec<Entry> = ts.iter().map(|t| entry(*t)).collect();
    encode(entries.iter())
}

const NOW: u64 = 1_800_000_000;

fn tempdir(tag: &str) -> PathBuf {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    let d = std::env::temp_dir().join(format!("lanstat-history-{tag}-{}", u64::from_le_bytes(b)));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn capacity_is_six_hours_between_its_bounds() {
    let s = Duration::from_secs;
    assert_eq!(capacity(s(10)), 2160);
    assert_eq!(capacity(s(5)), 4320);
    assert_eq!(capacity(s(8)), 2700);
    assert_eq!(capacity(s(1)), MAX_CAPACITY, "a tiny interval is capped");
    assert_eq!(capacity(Duration::ZERO), MAX_CAPACITY);
    assert_eq!(
        capacity(s(60)),
        MIN_CAPACITY,
        "never fewer than 6 h at 10 s"
    );
    assert_eq!(capacity(s(86_400)), MIN_CAPACITY);
}

#[test]
fn an_entry_keeps_the_stored_figures_of_a_sample_in_120_bytes() {
    assert_eq!(std::mem::size_of::<Entry>(), 120);
    let info: SystemInfo = serde_json::from_str(
        r#"{"cpu_percent": 15.2,
        "memory": {"total": 16777216, "used": 8388608, "percent": 50.0, "available": 8388608},
        "disk": {"total": 1000000000, "used": 500000000, "percent": 50.0},
        "network": {"bytes_sent": 1000000, "bytes_recv": 2000000},
        "network_usage": {"bytes_sent_per_sec": 1024.0, "bytes_recv_per_sec": 987654321.7},
        "hostname": "h", "system": "Linux",
        "swap": {"total": 2147483648, "used": 1000, "percent": 33.3},
        "load_average": {"one": 0.52, "five": 0.41, "fifteen": 0.38},
        "uptime_secs": 86400,
        "disk_io": {"read_bytes": 1, "write_bytes": 2, "read_bytes_per_sec": 0.0, "write_bytes_per_sec": 4096.5},
        "temperatures": [{"label": "a", "celsius": 48.3}, {"label": "b", "celsius": 61.7},
                         {"label": "broken", "celsius": 999.0}],
        "timestamp": 1795740000999}"#,
    )
    .unwrap();
    let s = Entry::from_info(&info).unwrap().sample();
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "t": 1795740000u64,
            "cpu_percent": 15.2,
            "memory": {"total": 16777216u64, "used": 8388608u64, "percent": 50.0},
            "disk": {"total": 1000000000u64, "used": 500000000u64, "percent": 50.0},
            "network": {"bytes_sent": 1000000u64, "bytes_recv": 2000000u64},
            "network_usage": {"bytes_sent_per_sec": 1024.0, "bytes_recv_per_sec": 987654321.7},
            "swap": {"percent": 33.3},
            "load_average": {"one": 0.52},
            "temperature": 61.7,
            "disk_io": {"read_bytes_per_sec": 0.0, "write_bytes_per_sec": 4096.5},
            "uptime_secs": 86400u64,
        })
    );
    let back: HistorySample = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn figures_a_machine_does_not_have_are_left_out() {
    let info: SystemInfo = serde_json::from_str(
        r#"{"cpu_percent": 1.0,
        "memory": {"total": 100, "used": 50, "percent": 50.0},
        "disk": {"total": 100, "used": 50, "percent": 50.0},
        "network": {"bytes_sent": 1, "bytes_recv": 2},
        "network_usage": {"bytes_sent_per_sec": 0, "bytes_recv_per_sec": 0},
        "hostname": "h", "system": "Windows", "timestamp": 5000}"#,
    )
    .unwrap();
    let json = serde_json::to_value(Entry::from_info(&info).unwrap().sample()).unwrap();
    for absent in [
        "swap",
        "load_average",
        "temperature",
        "disk_io",
        "uptime_secs",
    ] {
        assert!(json.get(absent).is_none(), "{absent}: {json}");
    }
    assert_eq!(json["t"], 5);
    let untimed = SystemInfo {
        timestamp: None,
        ..info
    };
    assert!(Entry::from_info(&untimed).is_none());
}

#[test]
fn every_percent_with_one_decimal_comes_back_as_it_was_given() {
    for tenths in 0..=1000u32 {
        let p = f64::from(tenths) / 10.0;
        let mut e = entry(1);
        e.cpu_percent = p as f32;
        e.temperature = p as f32;
        let s = e.sample();
        assert_eq!(s.cpu_percent, p);
        assert_eq!(s.temperature, Some(p));
    }
}

#[test]
fn a_full_ring_wraps_around_keeping_the_newest() {
    let r = ring_of(5, 1..=12);
    assert_eq!(all(&r), [8, 9, 10, 11, 12]);
    assert_eq!(r.newest(), Some(12));
    let r = ring_of(5, 1..=5);
    assert_eq!(all(&r), [1, 2, 3, 4, 5]);
}

#[test]
fn a_sample_in_the_same_second_or_earlier_replaces_those_from_its_second_on() {
    let mut r = ring_of(10, [10, 20, 30]);
    r.push(entry(30));
    assert_eq!(all(&r), [10, 20, 30], "one sample per second");
    r.push(entry(20));
    assert_eq!(
        all(&r),
        [10, 20],
        "the clock was set back: nothing after it is kept"
    );
    r.push(entry(5));
    assert_eq!(all(&r), [5]);
    r.push(entry(6));
    assert_eq!(all(&r), [5, 6]);
}

#[test]
fn since_gives_only_strictly_newer_samples_at_every_boundary() {
    let r = ring_of(10, [10, 20, 30]);
    for (since, want) in [
        (0, &[10, 20, 30][..]),
        (9, &[10, 20, 30]),
        (10, &[20, 30]),
        (15, &[20, 30]),
        (29, &[30]),
        (30, &[]),
        (u64::MAX, &[]),
    ] {
        let p = r.page(since, 100);
        assert_eq!(times(&p.entries), want, "since {since}");
        assert!(!p.more, "since {since}");
        assert_eq!(p.newest, Some(30));
    }
    let empty = Ring::new(3).page(0, 10);
    assert!(empty.entries.is_empty() && !empty.more && empty.newest.is_none());
}

#[test]
fn paging_with_more_reaches_every_sample_once_after_wraparound() {
    let r = ring_of(25, 1..=40);
    let (mut since, mut got, mut mores) = (0, Vec::new(), Vec::new());
    loop {
        let p = r.page(since, 10);
        got.extend(times(&p.entries));
        mores.push(p.more);
        if !p.more {
            break;
        }
        since = p.entries.last().unwrap().t;
    }
    assert_eq!(got, (16..=40).collect::<Vec<_>>());
    assert_eq!(mores, [true, true, false]);
    // A page that ends exactly at the newest has nothing more.
    let p = r.page(30, 10);
    assert_eq!(times(&p.entries), (31..=40).collect::<Vec<_>>());
    assert!(!p.more);
    let p = r.page(29, 10);
    assert!(p.more);
    assert_eq!(r.page(0, usize::MAX).entries.len(), 25);
}

#[test]
fn a_file_round_trips_every_figure() {
    let mut ring = ring_of(100, 1..=50);
    let mut sparse = entry(60);
    (sparse.swap_percent, sparse.load_1, sparse.temperature) = (f32::NAN, f32::NAN, f32::NAN);
    (sparse.disk_read_per_sec, sparse.disk_write_per_sec) = (f64::NAN, f64::NAN);
    sparse.uptime_secs = NO_UPTIME;
    ring.push(sparse);
    let bytes = encode(ring.iter());
    assert_eq!(bytes.len(), HEADER_BYTES + 51 * RECORD_BYTES);
    let d = decode(&bytes, NOW).unwrap();
    assert!(d.dropped.is_empty(), "{:?}", d.dropped);
    let want: Vec<HistorySample> = ring.iter().map(Entry::sample).collect();
    let got: Vec<HistorySample> = d.entries.iter().map(Entry::sample).collect();
    assert_eq!(got, want);
    let empty = decode(&encode(Ring::new(3).iter()), NOW).unwrap();
    assert!(empty.entries.is_empty() && empty.dropped.is_empty());
}

#[test]
fn a_truncated_file_keeps_its_whole_records() {
    let bytes = file_of(&[1, 2, 3, 4]);
    let cut = &bytes[..HEADER_BYTES + 2 * RECORD_BYTES + 50];
    let d = decode(cut, NOW).unwrap();
    assert_eq!(times(&d.entries), [1, 2]);
    assert_eq!(d.dropped, ["2 missing (the file is cut short)"]);
    let err = decode(&bytes[..HEADER_BYTES - 1], NOW).unwrap_err();
    assert!(err.contains("not a history file"), "{err}");
    assert!(decode(b"", NOW).is_err());
}

#[test]
fn a_file_larger_than_any_is_not_read() {
    let mut bytes = file_of(&[1, 2]);
    bytes.resize(MAX_FILE_BYTES + 1, 0);
    let err = decode(&bytes, NOW).unwrap_err();
    assert!(err.contains("larger than any"), "{err}");
    // The largest file there can be is read.
    let full: Vec<u64> = (1..=MAX_CAPACITY as u64).collect();
    let bytes = file_of(&full);
    assert_eq!(bytes.len(), MAX_FILE_BYTES);
    assert_eq!(decode(&bytes, NOW).unwrap().entries.len(), MAX_CAPACITY);
}

/// `bytes` with its header's checksum made right again after an edit.
fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
    let sum = fnv1a(&bytes[..16]);
    bytes[16..20].copy_from_slice(&sum.to_le_bytes());
    bytes
}

#[test]
fn a_garbled_file_keeps_only_the_records_that_check() {
    let err = decode(&[0x5a; 4000], NOW).unwrap_err();
    assert!(err.contains("not a history file"), "{err}");
    let err = decode(b"{\"samples\": []}", NOW).unwrap_err();
    assert!(err.contains("not a history file"), "{err}");

    let good = file_of(&[1, 2, 3, 4]);
    let mut bad = good.clone();
    bad[13] ^= 0x01; // the count
    let err = decode(&bad, NOW).unwrap_err();
    assert!(err.contains("header is damaged"), "{err}");

    let mut bad = good.clone();
    // A byte of the second record's memory figure: still plausible, caught by its checksum.
    bad[HEADER_BYTES + RECORD_BYTES + 20] ^= 0x10;
    // The third record's cpu_percent made impossible, with a checksum that matches.
    let third = HEADER_BYTES + 2 * RECORD_BYTES;
    let cpu = third + 96;
    bad[cpu..cpu + 4].copy_from_slice(&250f32.to_le_bytes());
    let sum = fnv1a(&bad[third..third + ENTRY_BYTES]);
    bad[third + ENTRY_BYTES..third + RECORD_BYTES].copy_from_slice(&sum.to_le_bytes());
    let d = decode(&bad, NOW).unwrap();
    assert_eq!(times(&d.entries), [1, 4]);
    assert_eq!(
        d.dropped,
        ["1 damaged (checksum)", "1 with figures no machine has"]
    );

    let mut bad = resealed({
        let mut b = good.clone();
        b[10] = 100; // records of another length
        b
    });
    let err = decode(&bad, NOW).unwrap_err();
    assert!(err.contains("records are"), "{err}");
    bad = resealed({
        let mut b = good.clone();
        b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        b
    });
    let err = decode(&bad, NOW).unwrap_err();
    assert!(err.contains("more than any buffer holds"), "{err}");

    let mut long = good.clone();
    long.extend_from_slice(&[0; 7]);
    let d = decode(&long, NOW).unwrap();
    assert_eq!(times(&d.entries), [1, 2, 3, 4]);
    assert_eq!(d.dropped, ["7 bytes after the last sample ignored"]);
}

#[test]
fn another_version_is_not_read() {
    for version in [0u16, 2, 9999] {
        let mut b = file_of(&[1, 2]);
        b[8..10].copy_from_slice(&version.to_le_bytes());
        let err = decode(&resealed(b), NOW).unwrap_err();
        assert!(err.contains(&format!("format version {version}")), "{err}");
    }
}

#[test]
fn samples_from_the_future_are_dropped() {
    let d = decode(
        &file_of(&[NOW - 20, NOW - 10, NOW, NOW + 1, NOW + 86_400]),
        NOW,
    )
    .unwrap();
    assert_eq!(times(&d.entries), [NOW - 20, NOW - 10, NOW]);
    assert_eq!(d.dropped, ["2 from the future"]);
}

#[test]
fn samples_out_of_order_are_dropped() {
    let d = decode(&file_of(&[10, 30, 20, 30, 40, 5]), NOW).unwrap();
    assert_eq!(times(&d.entries), [10, 30, 40]);
    assert_eq!(d.dropped, ["3 out of order"]);
}

#[test]
fn opening_without_a_file_starts_empty_and_a_saved_buffer_comes_back() {
    let dir = tempdir("open");
    let path = dir.join("agent_history.bin");
    let every = Duration::from_secs(10);
    let (h, line) = History::open(path.clone(), every, NOW);
    assert!(h.is_empty());
    assert!(
        line.starts_with("event=history_loaded samples=0 saved=none"),
        "{line}"
    );
    for t in 1..=3000 {
        h.push(entry(NOW - 3000 + t));
    }
    assert_eq!(h.len(), 2160);
    assert_eq!(h.save().unwrap(), 2160);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (again, line) = History::open(path.clone(), every, NOW);
    assert_eq!(
        line,
        format!("event=history_loaded samples=2160 path={}", path.display())
    );
    assert_eq!(samples_of(&again), samples_of(&h));
    let last = page(&again, NOW - 1, 10);
    assert_eq!(last.samples.len(), 1);
    assert_eq!(
        (last.interval, last.newest, last.more),
        (10, Some(NOW), false)
    );

    // At a longer interval the buffer holds as many; at a shorter one more, here all.
    let (wide, _) = History::open(path.clone(), Duration::from_secs(1), NOW);
    assert_eq!(wide.len(), 2160);
    let full: Vec<u64> = (NOW - 2999..=NOW).collect();
    std::fs::write(&path, file_of(&full)).unwrap();
    let (narrow, line) = History::open(path.clone(), every, NOW);
    assert_eq!(narrow.len(), 2160);
    assert_eq!(
        page(&narrow, 0, 1).samples[0].t,
        NOW - 2159,
        "the newest are kept"
    );
    assert!(
        line.contains("dropped=\"840 oldest beyond what this interval keeps\""),
        "{line}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_not_trusted_starts_empty_with_one_line_saying_why() {
    let dir = tempdir("refuse");
    let path = dir.join("agent_history.bin");
    let every = Duration::from_secs(10);
    for (bytes, why) in [
        (b"garbage".to_vec(), "it is not a history file"),
        (
            {
                let mut b = file_of(&[1]);
                b[8] = 2;
                resealed(b)
            },
            "format version 2",
        ),
    ] {
        std::fs::write(&path, bytes).unwrap();
        let (h, line) = History::open(path.clone(), every, NOW);
        assert!(h.is_empty());
        assert!(
            line.starts_with("event=history_refused reason=\""),
            "{line}"
        );
        assert!(
            line.contains(why) && line.contains("action=start_empty"),
            "{line}"
        );
    }
    // A huge file costs one capped read, not its size.
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(1 << 28).unwrap();
    drop(f);
    let (h, line) = History::open(path.clone(), every, NOW);
    assert!(h.is_empty() && line.contains("larger than any"), "{line}");
    // Part of a file is kept, and the line says what was dropped.
    std::fs::write(&path, file_of(&[1, 2, NOW + 60])).unwrap();
    let (h, line) = History::open(path.clone(), every, NOW);
    assert_eq!(h.len(), 2);
    assert!(
        line.contains("samples=2 dropped=\"1 from the future\""),
        "{line}"
    );
    // A directory where the file should be.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let (h, line) = History::open(path.clone(), every, NOW);
    assert!(
        h.is_empty() && line.starts_with("event=history_refused"),
        "{line}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_save_replaces_the_file_whole() {
    let dir = tempdir("save");
    let path = dir.join("agent_history.bin");
    let (h, _) = History::open(path.clone(), Duration::from_secs(10), NOW);
    h.push(entry(100));
    h.save().unwrap();
    h.push(entry(200));
    assert_eq!(h.save().unwrap(), 2);
    let d = decode(&std::fs::read(&path).unwrap(), NOW).unwrap();
    assert_eq!(times(&d.entries), [100, 200]);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["agent_history.bin"], "no temporary file is left");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_answer_stays_under_its_byte_cap_and_pages_reach_every_sample_once() {
    let dir = tempdir("pages");
    let (h, _) = History::open(dir.join("agent_history.bin"), Duration::from_secs(5), NOW);
    let empty = page(&h, 0, MAX_LIMIT);
    assert_eq!((empty.interval, empty.newest, empty.more), (5, None, false));
    assert!(empty.samples.is_empty());
    for t in NOW - 4319..=NOW {
        h.push(entry(t));
    }
    let want: Vec<HistorySample> = samples_of(&h);
    let (mut since, mut got, mut answers) = (0, Vec::new(), 0);
    loop {
        let p = page(&h, since, MAX_LIMIT);
        assert_eq!(p.newest, Some(NOW));
        assert!(!p.samples.is_empty() && p.samples.len() < MAX_LIMIT);
        answers += 1;
        since = p.samples.last().unwrap().t;
        got.extend(p.samples);
        if !p.more {
            break;
        }
    }
    assert_eq!(got, want);
    assert!(answers >= 4, "{answers}");
    // Under the cap, `limit` decides.
    let p = page(&h, NOW - 100, 10);
    assert_eq!(p.samples.len(), 10);
    assert!(p.more);
    assert_eq!(p.samples[0].t, NOW - 99);
    let p = page(&h, NOW - 10, 10);
    assert_eq!((p.samples.len(), p.more), (10, false));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn no_sample_is_longer_in_json_than_an_answer_leaves_room_for() {
    let long = -1.234_567_890_123_456_7e-300;
    let e = Entry {
        t: u64::MAX,
        memory_total: u64::MAX,
        memory_used: u64::MAX,
        disk_total: u64::MAX,
        disk_used: u64::MAX,
        bytes_sent: u64::MAX,
        bytes_recv: u64::MAX,
        uptime_secs: u64::MAX - 1,
        bytes_sent_per_sec: long,
        bytes_recv_per_sec: long,
        disk_read_per_sec: long,
        disk_write_per_sec: long,
        cpu_percent: f32::MIN,
        memory_percent: f32::MIN,
        disk_percent: f32::MIN,
        swap_percent: f32::MIN,
        load_1: f32::MIN,
        temperature: f32::MIN,
    };
    let json = serde_json::to_vec(&e.sample()).unwrap();
    assert!(json.len() <= MAX_SAMPLE_JSON_BYTES, "{}", json.len());
    let typical = serde_json::to_vec(&entry(NOW).sample()).unwrap();
    assert!(typical.len() < 500, "{}", typical.len());
}

#[test]
fn the_saver_saves_on_its_schedule_until_stopped() {
    let dir = tempdir("saver");
    let path = dir.join("agent_history.bin");
    let (h, _) = History::open(path.clone(), Duration::from_secs(10), NOW);
    let h = Arc::new(h);
    h.push(entry(100));
    let saver = Saver::start(h.clone(), Duration::from_millis(20)).unwrap();
    let saved = |n: usize| {
        std::fs::read(&path)
            .ok()
            .and_then(|b| decode(&b, NOW).ok())
            .is_some_and(|d| d.entries.len() == n)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !saved(1) {
        assert!(std::time::Instant::now() < deadline, "never saved");
        std::thread::sleep(Duration::from_millis(10));
    }
    h.push(entry(200));
    while !saved(2) {
        assert!(
            std::time::Instant::now() < deadline,
            "the second sample never saved"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(saver);
    std::fs::remove_dir_all(dir).unwrap();
}
