//! The release calendar as feeds: iCalendar (RFC 5545) for calendar applications and Atom
//! (RFC 4287) for feed readers; and the site's pages as a sitemap (sitemaps.org 0.9) for search
//! engines. Pure text out of their items: no clock, no I/O, so the same items give the same
//! bytes.

use jiff::Timestamp;
use justat_model::calendar::{ReleaseStatus, Schedule};
use justat_model::publication::Collection;
use std::fmt::Write;

/// A release as the feeds show it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedItem {
    /// Its stable identifier (iCalendar UID; the Atom entry's id is made from it).
    pub uid: String,
    /// Its announced title.
    pub title: String,
    /// Its collection.
    pub collection: Collection,
    /// Its status.
    pub status: ReleaseStatus,
    /// When it is announced for.
    pub schedule: Schedule,
    /// How many times it changed (iCalendar SEQUENCE).
    pub sequence: i64,
    /// When it last changed.
    pub updated: Timestamp,
    /// Its latest history line in French (« 10 juin 2027 à 12 h 00 → 17 juin 2027 à 12 h 00 :
    /// données tardives »), if any.
    pub last_change: Option<String>,
    /// The notice of a cancellation.
    pub notice: Option<String>,
    /// Its page (absolute address).
    pub url: String,
}

/// The Paris time zone as iCalendar describes it (the EU rule in force since 1996), so that
/// clients place a release at its Paris wall-clock time on both sides of a DST change.
const VTIMEZONE_PARIS: &str = "BEGIN:VTIMEZONE\r
TZID:Europe/Paris\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
END:STANDARD\r
END:VTIMEZONE\r
";

/// The calendar `name` as an iCalendar file: one VEVENT per release, its UID stable and its
/// SEQUENCE raised by every change; a provisional release spans its month as all-day dates.
pub fn icalendar(name: &str, items: &[FeedItem]) -> String {
    let mut out = String::new();
    let mut line = |text: String| out.push_str(&fold(&text));
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//Ministère de la Justice//Justat//FR".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", text(name)));
    line("X-WR-TIMEZONE:Europe/Paris".into());
    out.push_str(VTIMEZONE_PARIS);
    let mut line = |text: String| out.push_str(&fold(&text));
    for item in items {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", item.uid));
        line(format!("DTSTAMP:{}", utc(item.updated)));
        line(format!("LAST-MODIFIED:{}", utc(item.updated)));
        line(format!("SEQUENCE:{}", item.sequence));
        match item.schedule {
            Schedule::At(at) => {
                line(format!("DTSTART;TZID=Europe/Paris:{}", paris_local(at)));
            }
            Schedule::Month(m) => {
                let first = m.first_day();
                let next = first
                    .last_of_month()
                    .tomorrow()
                    .unwrap_or(first.last_of_month());
                line(format!("DTSTART;VALUE=DATE:{}", first.strftime("%Y%m%d")));
                line(format!("DTEND;VALUE=DATE:{}", next.strftime("%Y%m%d")));
            }
        }
        line(format!(
            "STATUS:{}",
            match item.status {
                ReleaseStatus::Provisional => "TENTATIVE",
                ReleaseStatus::Confirmed | ReleaseStatus::Published => "CONFIRMED",
                ReleaseStatus::Cancelled => "CANCELLED",
            }
        ));
        line("TRANSP:TRANSPARENT".into());
        line(format!(
            "SUMMARY:{}",
            text(&format!("{} — {}", item.collection.label_fr(), item.title))
        ));
        line(format!("DESCRIPTION:{}", text(&description(item))));
        line(format!("CATEGORIES:{}", text(item.collection.label_fr())));
        line(format!("URL:{}", item.url));
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

/// What an event or entry says of a release, in French.
fn description(item: &FeedItem) -> String {
    let mut s = format!("{} : {}.", item.status.label_fr(), item.schedule.label_fr());
    if let Some(n) = &item.notice {
        let _ = write!(s, " Avis d’annulation : {n}");
    }
    if let Some(c) = &item.last_change {
        let _ = write!(s, " Dernier changement : {c}.");
    }
    s
}

/// An instant in UTC, iCalendar's form (`20270610T100000Z`).
fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// An instant as a Paris wall-clock time, iCalendar's local form (`20270610T120000`).
fn paris_local(t: Timestamp) -> String {
    justat_model::french::in_paris(t)
        .strftime("%Y%m%dT%H%M%S")
        .to_string()
}

/// iCalendar TEXT: backslash, semicolon, comma and new lines escaped.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line folded at 75 octets (never inside a UTF-8 character), ended by CRLF.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

/// The calendar's published and changed releases as an Atom feed, the most recently changed
/// first. `self_url` is the feed's own address, `site` the calendar page's.
pub fn atom(title: &str, self_url: &str, site: &str, items: &[FeedItem]) -> String {
    let mut sorted: Vec<&FeedItem> = items.iter().collect();
    sorted.sort_by(|a, b| b.updated.cmp(&a.updated).then(a.uid.cmp(&b.uid)));
    let updated = sorted.first().map_or(Timestamp::UNIX_EPOCH, |i| i.updated);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let _ = writeln!(
        s,
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"fr\">"
    );
    let _ = writeln!(s, "  <title>{}</title>", xml(title));
    let _ = writeln!(s, "  <id>{}</id>", xml(self_url));
    let _ = writeln!(s, "  <link rel=\"self\" href=\"{}\"/>", xml(self_url));
    let _ = writeln!(s, "  <link rel=\"alternate\" href=\"{}\"/>", xml(site));
    let _ = writeln!(s, "  <updated>{}</updated>", rfc3339(updated));
    let _ = writeln!(
        s,
        "  <author><name>Ministère de la Justice — SSER</name></author>"
    );
    for item in sorted {
        let _ = writeln!(s, "  <entry>");
        let _ = writeln!(
            s,
            "    <id>urn:justat:release:{}:{}</id>",
            xml(&item.uid),
            item.sequence
        );
        let _ = writeln!(
            s,
            "    <title>{} — {} ({})</title>",
            xml(item.collection.label_fr()),
            xml(&item.title),
            xml(&item.status.label_fr().to_lowercase())
        );
        let _ = writeln!(s, "    <link href=\"{}\"/>", xml(&item.url));
        let _ = writeln!(s, "    <updated>{}</updated>", rfc3339(item.updated));
        let _ = writeln!(s, "    <summary>{}</summary>", xml(&description(item)));
        let _ = writeln!(s, "  </entry>");
    }
    s.push_str("</feed>\n");
    s
}

/// A page of the sitemap.
#[derive(Debug, Clone, PartialEq)]
pub struct SitemapPage {
    /// Its path on the site (`/publications/infostat/detention-2026/v2`).
    pub path: String,
    /// When it last changed (a publication's release), if it is known.
    pub modified: Option<Timestamp>,
}

/// The sitemap of the site at `base` (its absolute address, without a final `/`): one `<url>`
/// per page, in the order given.
pub fn sitemap(base: &str, pages: &[SitemapPage]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for page in pages {
        let _ = write!(
            s,
            "  <url><loc>{}</loc>",
            xml(&format!("{base}{}", page.path))
        );
        if let Some(t) = page.modified {
            let _ = write!(s, "<lastmod>{}</lastmod>", rfc3339(t));
        }
        s.push_str("</url>\n");
    }
    s.push_str("</urlset>\n");
    s
}

fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(status: ReleaseStatus, schedule: Schedule, sequence: i64) -> FeedItem {
        FeedItem {
            uid: "infostat/orientations-2025@justat".into(),
            title: "Les orientations pénales, en 2025; une analyse".into(),
            collection: Collection::Infostat,
            status,
            schedule,
            sequence,
            updated: "2026-12-03T09:00:00Z".parse().unwrap(),
            last_change: Some("10 juin → 17 juin : données tardives".into()),
            notice: None,
            url: "http://127.0.0.1:8080/calendrier#infostat-orientations-2025".into(),
        }
    }

    #[test]
    fn events_carry_their_paris_time_status_and_sequence() {
        // 28 March 2027, the day clocks go forward: noon in Paris is 10:00 UTC.
        let at: Timestamp = "2027-03-28T10:00:00Z".parse().unwrap();
        let ics = icalendar(
            "Calendrier",
            &[item(ReleaseStatus::Confirmed, Schedule::At(at), 2)],
        );
        assert!(
            ics.contains("DTSTART;TZID=Europe/Paris:20270328T120000\r\n"),
            "{ics}"
        );
        assert!(ics.contains("SEQUENCE:2\r\n") && ics.contains("STATUS:CONFIRMED\r\n"));
        assert!(ics.contains("UID:infostat/orientations-2025@justat\r\n"));
        assert!(ics.contains("2025\\; une"), "TEXT escapes semicolons");
        assert!(ics.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Paris"));
        assert!(ics.lines().all(|l| l.len() <= 75), "lines are folded");
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'), "CRLF only");
    }

    #[test]
    fn provisional_months_and_cancellations() {
        let m = Schedule::Month("2027-06".parse().unwrap());
        let ics = icalendar("C", &[item(ReleaseStatus::Provisional, m, 0)]);
        assert!(ics.contains("DTSTART;VALUE=DATE:20270601\r\nDTEND;VALUE=DATE:20270701\r\n"));
        assert!(ics.contains("STATUS:TENTATIVE"));
        let mut cancelled = item(ReleaseStatus::Cancelled, m, 1);
        cancelled.notice = Some("Série suspendue".into());
        let ics = icalendar("C", &[cancelled]);
        assert!(ics.contains("STATUS:CANCELLED"));
        assert!(ics.replace("\r\n ", "").contains("Série suspendue"));
    }

    #[test]
    fn folding_never_splits_a_character() {
        let long = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&long);
        for l in folded.split("\r\n") {
            assert!(l.len() <= 75);
        }
        assert_eq!(folded.replace("\r\n ", "").trim_end(), long);
    }

    #[test]
    fn the_sitemap_lists_each_page_with_its_release_and_escapes_addresses() {
        let pages = [
            SitemapPage {
                path: "/".into(),
                modified: None,
            },
            SitemapPage {
                path: "/publications/infostat/detention-2026/v1".into(),
                modified: Some("2026-11-05T11:00:00Z".parse().unwrap()),
            },
        ];
        assert_eq!(
            sitemap("https://stats.justice.gouv.fr", &pages),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n\
             \x20 <url><loc>https://stats.justice.gouv.fr/</loc></url>\n\
             \x20 <url><loc>https://stats.justice.gouv.fr/publications/infostat/detention-2026/v1</loc>\
             <lastmod>2026-11-05T11:00:00Z</lastmod></url>\n\
             </urlset>\n"
        );
        let odd = sitemap(
            "http://h/a?b=1&c=<2>",
            &[SitemapPage {
                path: "/\"x\"".into(),
                modified: None,
            }],
        );
        assert!(
            odd.contains("<loc>http://h/a?b=1&amp;c=&lt;2&gt;/&quot;x&quot;</loc>"),
            "{odd}"
        );
        assert_eq!(
            sitemap("http://h", &[]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n</urlset>\n"
        );
    }

    #[test]
    fn atom_lists_the_latest_change_first_and_escapes_text() {
        let mut a = item(
            ReleaseStatus::Published,
            Schedule::At("2026-11-01T11:00:00Z".parse().unwrap()),
            3,
        );
        a.title = "Justice & <chiffres>".into();
        let mut b = item(
            ReleaseStatus::Confirmed,
            Schedule::At("2027-01-01T11:00:00Z".parse().unwrap()),
            1,
        );
        b.uid = "infos-rapides/x@justat".into();
        b.updated = "2026-12-04T09:00:00Z".parse().unwrap();
        let feed = atom(
            "Calendrier",
            "http://h/calendrier.atom",
            "http://h/calendrier",
            &[a, b],
        );
        assert!(feed.contains("Justice &amp; &lt;chiffres&gt;"));
        assert!(feed.find("infos-rapides/x").unwrap() < feed.find("orientations-2025").unwrap());
        assert!(feed.contains("<updated>2026-12-04T09:00:00Z</updated>"));
    }
}
