//! The public site's kept answers, end to end: a page not yet public is never kept (by the
//! server or a CDN) past its release instant; a released page is rendered once, answered 304
//! to a current copy, compressed with gzip or brotli to the same bytes; a released version's
//! files are immutable; a visitor with a session is never answered from the cache; and a
//! change made by another process (the command line) shows at the next request.

use crate::calendar::{ok, prepared, schedule_at};
use crate::harness::Server;
use reqwest::header::HeaderMap;
use std::io::Read;
use std::time::Duration;

const PAGE: &str = "/publications/infos-rapides/condamnations-2024";

/// A GET with extra request headers: status, headers and the body's bytes as sent.
async fn get(s: &Server, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, Vec<u8>) {
    let mut req = s.client.get(format!("{}{path}", s.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The `max-age` of a `Cache-Control`, 0 for `no-cache`.
fn max_age(cache_control: &str) -> u64 {
    if cache_control == "no-cache" {
        return 0;
    }
    cache_control
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no max-age in {cache_control:?}"))
}

#[tokio::test]
async fn public_answers_are_kept_validated_and_compressed_never_past_an_instant() {
    let tmp = prepared();
    let p = tmp.path();
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(8);
    schedule_at(p, at);
    let s = Server::on_data(p).await;

    // Before the instant: a not-found a CDN may keep only until the instant.
    for _ in 0..2 {
        let (status, h, _) = get(&s, PAGE, &[]).await;
        assert_eq!(status, 404);
        let left = at.duration_since(jiff::Timestamp::now()).as_secs().max(0) as u64;
        let age = max_age(&header(&h, "cache-control"));
        assert!(
            age <= left,
            "a not-found kept {age} s by a CDN, past the instant {left} s away"
        );
    }
    // The calendar page, kept before the instant, shows the release as upcoming.
    let (_, _, calendar_before) = get(&s, "/calendrier", &[]).await;
    while jiff::Timestamp::now() < at {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // From the instant: the page, at the first request, and kept from then on.
    let (status, h, page) = get(&s, PAGE, &[]).await;
    assert_eq!(status, 200, "the page at its instant");
    let etag = header(&h, "etag");
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag:?}");
    assert!(!header(&h, "last-modified").is_empty());
    assert_eq!(header(&h, "vary"), "Accept-Encoding");
    assert!(header(&h, "cache-control").starts_with("public, max-age="));
    assert!(max_age(&header(&h, "cache-control")) <= 60);
    // The security headers are on kept answers too.
    assert!(!header(&h, "content-security-policy").is_empty());
    let (_, h2, page2) = get(&s, PAGE, &[]).await;
    assert_eq!(header(&h2, "etag"), etag, "the same bytes keep their tag");
    assert_eq!(page2, page);
    let (_, _, calendar_after) = get(&s, "/calendrier", &[]).await;
    assert_ne!(
        calendar_after, calendar_before,
        "the calendar kept before the instant was rendered again after it"
    );

    // A current copy: 304 without a body, by tag or by date.
    let (status, h, body) = get(&s, PAGE, &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (304, 0));
    assert_eq!(header(&h, "etag"), etag);
    let since = header(&h2, "last-modified");
    let (status, _, _) = get(&s, PAGE, &[("if-modified-since", &since)]).await;
    assert_eq!(status, 304);
    let (status, _, body) = get(&s, PAGE, &[("if-none-match", "\"autre\"")]).await;
    assert_eq!((status, body), (200, page.clone()));

    // Compressed: the same bytes once decoded, each coding with its own tag.
    let (_, h, br) = get(&s, PAGE, &[("accept-encoding", "gzip, deflate, br")]).await;
    assert_eq!(header(&h, "content-encoding"), "br");
    assert_ne!(header(&h, "etag"), etag);
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&br[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, page);
    assert!(
        br.len() * 3 < page.len(),
        "brotli {} of {}",
        br.len(),
        page.len()
    );
    let (_, h, gz) = get(&s, PAGE, &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&h, "content-encoding"), "gzip");
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, page);
    let (status, _, _) = get(&s, PAGE, &[("if-none-match", &header(&h, "etag"))]).await;
    assert_eq!(status, 304, "the gzip copy's tag validates");

    // HEAD: the length of the bytes a GET sends, no body.
    let head = s
        .client
        .head(format!("{}{PAGE}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(
        header(head.headers(), "content-length"),
        page.len().to_string()
    );

    // A released version's file never changes: a CDN may keep it for good.
    let file = format!("{PAGE}/v1/donnees/groupes.csv");
    let (status, h, _) = get(&s, &file, &[]).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(
        header(&h, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    // The latest version's file under the publication's own address may change.
    let (_, h, _) = get(&s, &format!("{PAGE}/donnees/groupes.csv"), &[]).await;
    assert!(max_age(&header(&h, "cache-control")) <= 60);

    // A visitor with a session gets the page rendered for them, never kept.
    let session = s.login("sophie", "a-long-enough-password-1").await;
    let (status, h, mine) = get(&s, PAGE, &[("cookie", &session.cookie)]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "cache-control"), "private, no-store");
    assert!(header(&h, "etag").is_empty());
    assert_ne!(mine, page, "the logged-in page shows its user");

    // Another process changes what the public sees: the next request shows it.
    let (_, _, before) = get(&s, "/calendrier", &[]).await;
    let title = "Parution annoncée depuis la ligne de commande";
    ok(
        p,
        &[
            "calendar",
            "announce",
            "infostat",
            "parution-en-ligne-de-commande",
            "--title",
            title,
            "--month",
            &(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 60))
                .strftime("%Y-%m")
                .to_string(),
            "--as",
            "chef",
        ],
    );
    let (_, _, after) = get(&s, "/calendrier", &[]).await;
    let (before, after) = (
        String::from_utf8(before).unwrap(),
        String::from_utf8(after).unwrap(),
    );
    assert!(!before.contains(title));
    assert!(after.contains(title), "the calendar after the announcement");
    s.stop().await;
}
