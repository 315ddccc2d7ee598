//! The audit log anchored outside the database: a signing key made by `justat audit keygen`,
//! signed checkpoints, and `justat audit verify` naming a rewrite that recomputed every hash,
//! a forged checkpoint, and the checkpoint the transmission to the ASP carries.

use crate::harness::{justat_in, output_text as text};
use justat_model::audit::{EntryContent, entry_hash};
use justat_model::{AuditEntry, Sha256Hex};
use sqlx::{Executor, Row};
use std::path::Path;

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = justat_in(dir, args, None);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

/// Runs `args`, which must exit with code 2 (a broken log); returns what it printed.
fn broken(dir: &Path, args: &[&str]) -> String {
    let o = justat_in(dir, args, None);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    text(&o)
}

fn add_user(dir: &Path, user: &str, role: &str) {
    let o = justat_in(
        dir,
        &["user", "add", user, "--role", role, "--password-stdin"],
        Some("a-long-enough-password-1\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
}

/// Edits entry `seq` and recomputes every hash after it, head included, as an attacker who
/// owns the database would: the hash chain is consistent again.
async fn rewrite(db: &Path, seq: i64, details: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    pool.execute("DROP TRIGGER audit_log_no_update")
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, object, details, prev_hash, hash FROM audit_log ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut entries: Vec<AuditEntry> = rows
        .iter()
        .map(|r| AuditEntry {
            seq: r.get("seq"),
            at: r.get("at"),
            actor: r.get("actor"),
            action: r.get("action"),
            object: r.get("object"),
            details: r.get("details"),
            prev_hash: Sha256Hex::from_stored(r.get("prev_hash")),
            hash: Sha256Hex::from_stored(r.get("hash")),
        })
        .collect();
    let mut prev = Sha256Hex::genesis();
    for e in &mut entries {
        if e.seq == seq {
            e.details = details.to_string();
        }
        if e.seq >= seq {
            e.prev_hash = prev.clone();
            e.hash = entry_hash(
                e.seq,
                EntryContent {
                    at: &e.at,
                    actor: &e.actor,
                    action: &e.action,
                    object: &e.object,
                    details: &e.details,
                },
                &e.prev_hash,
            );
            sqlx::query(
                "UPDATE audit_log SET details = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
            )
            .bind(&e.details)
            .bind(e.prev_hash.as_str().to_string())
            .bind(e.hash.as_str().to_string())
            .bind(e.seq)
            .execute(&pool)
            .await
            .unwrap();
        }
        prev = e.hash.clone();
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(prev.as_str().to_string())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn a_rewrite_that_recomputes_the_chain_is_named_by_the_signed_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    // Without a key, verify says the log is not anchored.
    add_user(p, "marie", "admin");
    let unanchored = ok(p, &["audit", "verify"]);
    assert!(
        unanchored.contains("WARNING: no audit_key is configured"),
        "{unanchored}"
    );

    std::fs::write(p.join("justat.toml"), "audit_key = \"keys/audit.key\"\n").unwrap();
    let made = ok(p, &["audit", "keygen"]);
    assert!(
        made.contains("public key: ") && made.contains("ed25519:"),
        "{made}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p.join("keys/audit.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key is readable by its owner only");
    }
    let again = justat_in(p, &["audit", "keygen"], None);
    assert!(
        !again.status.success() && text(&again).contains("never replaced"),
        "{}",
        text(&again)
    );
    let none_yet = ok(p, &["audit", "verify"]);
    assert!(
        none_yet.contains("WARNING: no signed checkpoint"),
        "{none_yet}"
    );

    add_user(p, "paul", "statistician");
    add_user(p, "chef", "head_of_service");
    let signed = ok(p, &["audit", "checkpoint"]);
    assert!(signed.contains("checkpoint signed: entry #3"), "{signed}");
    add_user(p, "sophie", "statistician");
    let fine = ok(p, &["audit", "verify"]);
    assert!(
        fine.contains("audit log OK: 4 entries verified")
            && fine.contains("checkpoints OK")
            && fine.contains("for entry #3; 1 entries after it"),
        "{fine}"
    );

    // A forged line: the hash of another entry under the genuine signature.
    let file = p.join("data/audit-checkpoints/checkpoints.log");
    let genuine = std::fs::read_to_string(&file).unwrap();
    let hash = genuine
        .split_whitespace()
        .find_map(|w| w.strip_prefix("hash="))
        .unwrap()
        .to_string();
    let forged = p.join("forged.log");
    std::fs::write(&forged, genuine.replace(&hash, &"0".repeat(64))).unwrap();
    let out = broken(
        p,
        &["audit", "verify", "--checkpoints", forged.to_str().unwrap()],
    );
    assert!(
        out.contains("checkpoint line 1 (entry #3) is FORGED"),
        "{out}"
    );

    // The attacker edits entry #2 and recomputes every hash after it: the chain holds, the
    // checkpoint of entry #3 does not.
    rewrite(&p.join("data/justat.db"), 2, "{\"role\":\"admin\"}").await;
    let out = broken(p, &["audit", "verify"]);
    assert!(
        out.contains("audit log OK: 4 entries verified"),
        "every hash in the table is consistent: {out}"
    );
    assert!(
        out.contains("audit log BROKEN: the audit log was REWRITTEN: the checkpoint signed at")
            && out.contains("(line 1) records entry #3")
            && out.contains("an entry from #1 to #3 was changed"),
        "{out}"
    );
    assert!(out.contains("checkpoints.log"), "the file is named: {out}");

    // The back office's verification says so too, rather than « intact ».
    let s = crate::harness::Server::serve_process(p).await;
    let marie = s.login("marie", "a-long-enough-password-1").await;
    let page = s
        .get("/admin/journal?verifier=1", Some(&marie.cookie))
        .await;
    assert!(
        page.body.contains("Journal réécrit")
            && page
                .body
                .contains("(ligne 1) atteste une autre empreinte pour l’entrée n° 3")
            && page.body.contains("entre les n° 1 et 3"),
        "{}",
        page.body
    );
    s.stop().await;
}

#[test]
fn the_transmission_to_the_asp_carries_the_signed_head_of_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::fs::write(p.join("justat.toml"), "audit_key = \"keys/audit.key\"\n").unwrap();
    ok(p, &["audit", "keygen"]);
    add_user(p, "chef", "head_of_service");
    add_user(p, "claire", "embargo_recipient");
    ok(
        p,
        &[
            "calendar",
            "announce",
            "infostat",
            "detenus-2026",
            "--as",
            "chef",
            "--title",
            "Détenus",
            "--month",
            "2027-11",
        ],
    );
    ok(
        p,
        &[
            "embargo",
            "add",
            "infostat",
            "detenus-2026",
            "--as",
            "chef",
            "--recipient",
            "claire",
            "--function",
            "Conseillère",
            "--organisation",
            "Cabinet",
            "--email",
            "claire@example.org",
            "--justification",
            "Préparer la réponse",
        ],
    );
    let out = p.join("asp");
    ok(
        p,
        &[
            "embargo",
            "export",
            "infostat",
            "detenus-2026",
            "--as",
            "chef",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let csv = std::fs::read_to_string(out.join("infostat-detenus-2026-destinataires.csv")).unwrap();
    let file = std::fs::read_to_string(p.join("data/audit-checkpoints/checkpoints.log")).unwrap();
    let line = file.lines().last().expect("the export signed a checkpoint");
    assert!(
        csv.lines().nth(1).unwrap().ends_with(line),
        "the CSV carries the signed line: {csv}"
    );
    assert!(csv.contains(",ed25519:"), "{csv}");
    // The line the ASP holds verifies the log as a checkpoint file of its own.
    let copy = p.join("asp-copy.log");
    std::fs::write(&copy, format!("{line}\n")).unwrap();
    let checked = ok(
        p,
        &["audit", "verify", "--checkpoints", copy.to_str().unwrap()],
    );
    assert!(checked.contains("checkpoints OK"), "{checked}");
}
