//! Hostile and broken input: every case ends in a positioned diagnostic, never a
//! panic, a stack overflow or runaway memory. (Time and memory are measured by
//! `benches/hostile_input.sh`, not asserted here.)

use std::path::Path;

use pipewright::spec::{self, MemFiles};

fn check_bytes(bytes: Vec<u8>) -> Vec<&'static str> {
    let c = spec::check_bytes(Path::new("hostile.yaml"), bytes, &MemFiles::default());
    assert!(c.diagnostics.has_errors(), "hostile input was accepted");
    c.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn ten_megabyte_scalar() {
    let mut s = String::from("version: 1\nname: \"");
    s.push_str(&"x".repeat(10 * 1024 * 1024));
    s.push_str("\"\n");
    let codes = check_bytes(s.into_bytes());
    assert!(
        codes.contains(&"PW0107") || codes.contains(&"PW0102"),
        "{codes:?}"
    );
}

#[test]
fn hundred_thousand_levels_of_nesting() {
    let s = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(check_bytes(s.into_bytes()), ["PW0007"]);
    let mut s = String::new();
    for i in 0..100_000 {
        s.push_str(&" ".repeat(i % 200));
        s.push_str("- \n");
    }
    let codes = check_bytes(s.into_bytes());
    assert!(!codes.is_empty());
    let block = (0..1000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i * 2)))
        .collect::<String>();
    assert_eq!(check_bytes(block.into_bytes()), ["PW0007"]);
}

#[test]
fn alias_bomb() {
    let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        s.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    assert_eq!(check_bytes(s.into_bytes()), ["PW0008"]);
}

#[test]
fn binary_garbage_and_odd_documents() {
    assert_eq!(check_bytes(vec![0xff, 0xfe, 0x00, 0x41]), ["PW0002"]);
    assert_eq!(check_bytes(b"\x00\x01\x02".to_vec()).len(), 1);
    assert_eq!(check_bytes(b"".to_vec()), ["PW0003"]);
    assert_eq!(check_bytes(b"   \n\n".to_vec()), ["PW0003"]);
    assert_eq!(check_bytes(b"[1, 2, 3]\n".to_vec()), ["PW0009"]);
    assert_eq!(check_bytes(b"42\n".to_vec()), ["PW0009"]);
    assert_eq!(check_bytes(b"a: 1\n---\nb: 2\n".to_vec()), ["PW0006"]);
    assert_eq!(check_bytes(b"a: !!binary aGVsbG8=\n".to_vec()), ["PW0005"]);
    assert_eq!(check_bytes(b"a: *nothing\n".to_vec()).len(), 1);
}

#[test]
fn leading_zero_account_survives_unquoted() {
    let spec = "version: 1\nname: demo-pipe\nowner: t\nenvironments:\n  dev:\n    account: 012345678901\n    region: eu-west-2\n    compliance: []\n    alarm_email: a@example.com\nsources:\n  s:\n    route: /s\n    schema: { version: 1.0.0, inline: { type: object } }\n";
    let c = spec::check_bytes(
        Path::new("p.yaml"),
        spec.as_bytes().to_vec(),
        &MemFiles::default(),
    );
    assert!(!c.diagnostics.has_errors(), "{:?}", c.diagnostics);
    assert_eq!(c.spec.unwrap().environments["dev"].account, "012345678901");
}
