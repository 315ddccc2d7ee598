//! What the service must not leak around a release, on the demo's data: nothing behind a login
//! may be kept by a shared cache, the embargo room links only to itself, an embargo list is
//! approved only as the head of service saw it, and the public outputs name no staff account
//! and never take their absolute addresses from the request's `Host`.

use crate::harness::{Server, Session, justat_in, output_text as text};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

/// The demo's release under embargo (readable by `destinataire` in the embargo room).
const EMBARGOED: (&str, &str) = ("references-statistiques", "peines-selon-l-infraction-2024");

/// The demo's accounts and passwords (`justat demo` prints them).
const ACCOUNTS: &[(&str, &str)] = &[
    ("admin", "justat-demo-admin"),
    ("statisticienne", "justat-demo-statisticienne"),
    ("chef", "justat-demo-chef"),
    ("destinataire", "justat-demo-destinataire"),
    ("asp", "justat-demo-asp"),
    ("pilotage", "justat-demo-pilotage"),
];

/// The staff accounts of the demo: none may be named by a public output.
const STAFF: &[&str] = &["admin", "statisticienne", "chef", "pilotage"];

/// A staff account no French text contains (`pilotage` is also a word of the service's
/// page): it moves a release, so the public history has a line of its own to leak.
const DISTINCT_STAFF: &str = "m.lefevre-7";

/// The demo's data, prepared once (`justat demo --prepare-only`) and copied for each test.
fn demo() -> tempfile::TempDir {
    static PREPARED: OnceLock<tempfile::TempDir> = OnceLock::new();
    let prepared = PREPARED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let o = justat_in(dir.path(), &["demo", "--prepare-only"], None);
        assert!(o.status.success(), "{}", text(&o));
        dir
    });
    let copy = tempfile::tempdir().unwrap();
    copy_dir(prepared.path(), copy.path());
    copy
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

async fn logged_in(s: &Server) -> BTreeMap<&'static str, Session> {
    let mut sessions = BTreeMap::new();
    for (user, password) in ACCOUNTS {
        sessions.insert(*user, s.login(user, password).await);
    }
    sessions
}

/// The recipient accepts the terms (once) and the embargo room is hers.
async fn terms_accepted(s: &Server, recipient: &Session) {
    let accepted = s
        .post(
            "/admin/embargo/conditions",
            Some(&recipient.cookie),
            &[("csrf", &recipient.csrf)],
        )
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
}

/// The matching `)` of the `(` at `open`.
fn closing(text: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return open + i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses")
}

/// Whether `call(` appears in `text` as a call of that name (not inside a longer name).
fn calls(text: &str, call: &str) -> bool {
    let pattern = format!("{call}(");
    text.match_indices(&pattern).any(|(i, _)| {
        text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

/// Every (method, path) the application nests under a prefix (the back office and the
/// embargo room, under `/admin`), read from the routers' source: a route added later is
/// walked too, or the walk fails asking for its parameters.
fn nested_routes() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../justat-web/src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut routes = BTreeSet::new();
    for (at, _) in lib.match_indices(".nest(") {
        let open = at + ".nest".len();
        let nest = &lib[open..=closing(&lib, open)];
        let prefix = nest.split('"').nth(1).expect("a nest's prefix");
        for (m, _) in nest.match_indices("routes::") {
            let module = nest[m + "routes::".len()..].split("::").next().unwrap();
            let file = std::fs::read_to_string(src.join(format!("routes/{module}.rs"))).unwrap();
            for (r, _) in file.match_indices(".route(") {
                let open = r + ".route".len();
                let call = &file[open..=closing(&file, open)];
                let path = call.split('"').nth(1).expect("a route's path");
                let methods: Vec<&str> = ["get", "post", "put", "patch", "delete"]
                    .into_iter()
                    .filter(|m| calls(call, m))
                    .collect();
                assert!(!methods.is_empty(), "no method for {path} in {module}.rs");
                for method in methods {
                    routes.insert((method.to_uppercase(), format!("{prefix}{path}")));
                }
            }
        }
    }
    assert!(routes.len() > 20, "the routers were read: {routes:?}");
    routes
}

/// Asks the job runner for the recipient's copy of the PDF of the room's release at `room`,
/// and waits for it; its bytes.
async fn stamped_copy(s: &Server, recipient: &Session, room: &str) -> reqwest::Response {
    let asked = s
        .post(
            &format!("{room}/exemplaire"),
            Some(&recipient.cookie),
            &[("csrf", &recipient.csrf)],
        )
        .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let href = asked.location();
    let cookie = &recipient.cookie;
    for _ in 0..600 {
        let r = s
            .client
            .get(format!("{}{href}", s.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{href}");
        if r.headers()["content-type"] == "application/pdf" {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("no stamped copy of {href} in two minutes");
}

/// The values of `attribute="…"` in a page, HTML entities of `&` undone.
fn attributes(html: &str, attribute: &str) -> Vec<String> {
    let marker = format!(" {attribute}=\"");
    html.match_indices(&marker)
        .map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            rest[..rest.find('"').unwrap()].replace("&amp;", "&")
        })
        .collect()
}

#[tokio::test]
async fn every_back_office_and_embargo_room_response_is_private_and_never_stored() {
    let tmp = demo();
    let s = Server::serve_process(tmp.path()).await;
    let sessions = logged_in(&s).await;
    let recipient = &sessions["destinataire"];
    terms_accepted(&s, recipient).await;
    let (c, slug) = EMBARGOED;
    let room = format!("/admin/embargo/{c}/{slug}");
    // The recipient's stamped PDF, made by the job runner, is walked too.
    stamped_copy(&s, recipient, &room).await;
    // A transmission to the ASP, prepared by the job runner, with its files.
    let asp = &sessions["asp"];
    let job = s
        .post(
            &format!("/admin/listes-embargo/{c}/{slug}/transmission"),
            Some(&asp.cookie),
            &[("csrf", &asp.csrf)],
        )
        .await;
    assert_eq!(job.status, 303, "{}", job.body);
    let job_page = job.location();
    let done = s.finished(&asp.cookie, &job_page).await;
    let job_id = job_page.rsplit('/').next().unwrap().to_string();
    let transmission_files: Vec<String> = attributes(&done, "href")
        .into_iter()
        .filter(|h| h.starts_with(&format!("{job_page}/")))
        .collect();
    assert!(transmission_files.len() >= 2, "{done}");
    let version = s
        .store
        .publication_version(c.parse().unwrap(), slug, None)
        .await
        .unwrap()
        .expect("the embargoed version");
    let room_files: Vec<String> = version
        .files
        .iter()
        .map(|f| format!("{room}/fichiers/{}", f.name))
        .collect();
    for kind in [".csv", ".fr.csv", ".xlsx", ".zip", ".pdf"] {
        assert!(
            room_files.iter().any(|f| f.ends_with(kind)),
            "a {kind} file under embargo: {room_files:?}"
        );
    }

    // Each route, with the demo's values for its parameters.
    let publication = format!("{c}/{slug}/v{}", version.version);
    let concrete: BTreeMap<(&str, &str), Vec<String>> = [
        (("GET", "/admin/"), vec!["/admin/".into(), "/admin".into()]),
        (("GET", "/admin/journal"), vec!["/admin/journal".into()]),
        (
            ("GET", "/admin/utilisateurs"),
            vec!["/admin/utilisateurs".into()],
        ),
        (
            ("POST", "/admin/utilisateurs"),
            vec!["/admin/utilisateurs".into()],
        ),
        (
            ("POST", "/admin/utilisateurs/{username}/role"),
            vec!["/admin/utilisateurs/statisticienne/role".into()],
        ),
        (
            ("POST", "/admin/utilisateurs/{username}/desactiver"),
            vec!["/admin/utilisateurs/statisticienne/desactiver".into()],
        ),
        (
            ("POST", "/admin/utilisateurs/{username}/reactiver"),
            vec!["/admin/utilisateurs/statisticienne/reactiver".into()],
        ),
        (
            ("POST", "/admin/utilisateurs/{username}/mot-de-passe"),
            vec!["/admin/utilisateurs/statisticienne/mot-de-passe".into()],
        ),
        (
            ("GET", "/admin/livraisons"),
            vec!["/admin/livraisons".into()],
        ),
        (
            ("POST", "/admin/livraisons"),
            vec!["/admin/livraisons".into()],
        ),
        (
            ("GET", "/admin/livraisons/{id}"),
            vec!["/admin/livraisons/1".into()],
        ),
        (("GET", "/admin/chaines"), vec!["/admin/chaines".into()]),
        (
            ("POST", "/admin/chaines/{chain}/executer"),
            vec!["/admin/chaines/cjn_convictions/executer".into()],
        ),
        (
            ("GET", "/admin/traitements/{id}"),
            vec!["/admin/traitements/1".into()],
        ),
        (
            ("GET", "/admin/taches/{id}"),
            vec![format!("/admin/taches/{job_id}")],
        ),
        (
            ("GET", "/admin/publications"),
            vec!["/admin/publications".into()],
        ),
        (
            ("GET", "/admin/publications/{collection}/{slug}/{version}"),
            vec![format!("/admin/publications/{publication}")],
        ),
        (
            (
                "POST",
                "/admin/publications/{collection}/{slug}/{version}/{action}",
            ),
            vec![format!("/admin/publications/{publication}/soumettre")],
        ),
        (
            ("GET", "/admin/publications/nouvelle"),
            vec!["/admin/publications/nouvelle".into()],
        ),
        (
            ("POST", "/admin/publications/editeur"),
            vec!["/admin/publications/editeur".into()],
        ),
        (
            ("GET", "/admin/publications/editeur/{job}"),
            vec![format!("/admin/publications/editeur/{job_id}")],
        ),
        (
            (
                "GET",
                "/admin/publications/{collection}/{slug}/{version}/modifier",
            ),
            vec![format!("/admin/publications/{publication}/modifier")],
        ),
        (("GET", "/admin/embargo"), vec!["/admin/embargo".into()]),
        (
            ("POST", "/admin/embargo/conditions"),
            vec!["/admin/embargo/conditions".into()],
        ),
        (
            ("GET", "/admin/embargo/{collection}/{slug}"),
            vec![room.clone()],
        ),
        (
            ("POST", "/admin/embargo/{collection}/{slug}/exemplaire"),
            vec![format!("{room}/exemplaire")],
        ),
        (
            ("GET", "/admin/embargo/{collection}/{slug}/fichiers/{file}"),
            room_files.clone(),
        ),
        (
            ("GET", "/admin/listes-embargo"),
            vec!["/admin/listes-embargo".into()],
        ),
        (
            (
                "POST",
                "/admin/listes-embargo/{collection}/{slug}/transmission",
            ),
            vec![format!("/admin/listes-embargo/{c}/{slug}/transmission")],
        ),
        (
            ("POST", "/admin/listes-embargo/destinataires"),
            vec!["/admin/listes-embargo/destinataires".into()],
        ),
        (
            (
                "POST",
                "/admin/listes-embargo/{collection}/{slug}/approuver",
            ),
            vec![format!("/admin/listes-embargo/{c}/{slug}/approuver")],
        ),
        (
            ("GET", "/admin/listes-embargo/transmission/{job}"),
            vec![job_page.clone()],
        ),
        (
            ("GET", "/admin/listes-embargo/transmission/{job}/{file}"),
            transmission_files.clone(),
        ),
        (
            ("GET", "/admin/tableaux-de-bord"),
            vec!["/admin/tableaux-de-bord".into()],
        ),
        (
            ("GET", "/admin/tableaux-de-bord/{administration}"),
            vec!["/admin/tableaux-de-bord/dpjj".into()],
        ),
        (
            (
                "GET",
                "/admin/tableaux-de-bord/{administration}/indicateurs/{indicator}",
            ),
            vec!["/admin/tableaux-de-bord/dpjj/indicateurs/cjpm_mejp".into()],
        ),
        (
            (
                "GET",
                "/admin/tableaux-de-bord/{administration}/indicateurs/{indicator}/{file}",
            ),
            vec!["/admin/tableaux-de-bord/dpjj/indicateurs/cjpm_mejp/mois.csv".into()],
        ),
        (
            ("GET", "/admin/programme-de-travail"),
            vec!["/admin/programme-de-travail".into()],
        ),
        (
            ("GET", "/admin/programme-de-travail/{year}"),
            vec!["/admin/programme-de-travail/2026".into()],
        ),
        (
            ("POST", "/admin/programme-de-travail/{year}/synthese"),
            vec!["/admin/programme-de-travail/2026/synthese".into()],
        ),
        (
            (
                "GET",
                "/admin/programme-de-travail/{year}/operations/nouvelle",
            ),
            vec!["/admin/programme-de-travail/2026/operations/nouvelle".into()],
        ),
        (
            (
                "POST",
                "/admin/programme-de-travail/{year}/operations/nouvelle",
            ),
            vec!["/admin/programme-de-travail/2026/operations/nouvelle".into()],
        ),
        (
            ("GET", "/admin/programme-de-travail/{year}/operations/{id}"),
            vec!["/admin/programme-de-travail/2026/operations/1".into()],
        ),
        (
            ("POST", "/admin/programme-de-travail/{year}/operations/{id}"),
            vec!["/admin/programme-de-travail/2026/operations/1".into()],
        ),
        (
            ("GET", "/admin/programme-de-travail/{year}/avis/nouveau"),
            vec!["/admin/programme-de-travail/2026/avis/nouveau".into()],
        ),
        (
            ("POST", "/admin/programme-de-travail/{year}/avis/nouveau"),
            vec!["/admin/programme-de-travail/2026/avis/nouveau".into()],
        ),
        (
            ("GET", "/admin/programme-de-travail/{year}/avis/{id}"),
            vec!["/admin/programme-de-travail/2026/avis/1".into()],
        ),
        (
            ("POST", "/admin/programme-de-travail/{year}/avis/{id}"),
            vec!["/admin/programme-de-travail/2026/avis/1".into()],
        ),
        (
            ("GET", "/admin/calendrier"),
            vec!["/admin/calendrier".into()],
        ),
        (("GET", "/admin/enquetes"), vec!["/admin/enquetes".into()]),
        (
            ("GET", "/admin/enquetes/{id}"),
            vec!["/admin/enquetes/1".into(), "/admin/enquetes/2".into()],
        ),
        (
            ("GET", "/admin/enquetes/{id}/non-repondants.csv"),
            vec!["/admin/enquetes/2/non-repondants.csv".into()],
        ),
        (
            ("GET", "/admin/enquetes/{id}/unite"),
            vec!["/admin/enquetes/1/unite?code=1%2F167".into()],
        ),
        (
            ("POST", "/admin/enquetes/{id}/clore"),
            vec!["/admin/enquetes/2/clore".into()],
        ),
        (
            ("POST", "/admin/enquetes/{id}/imputer"),
            vec!["/admin/enquetes/2/imputer".into()],
        ),
        (
            ("POST", "/admin/enquetes/{id}/valider"),
            vec!["/admin/enquetes/2/valider".into()],
        ),
        (
            ("POST", "/admin/enquetes/{id}/unite/statut"),
            vec!["/admin/enquetes/2/unite/statut".into()],
        ),
        (
            ("POST", "/admin/enquetes/{id}/unite/corriger"),
            vec!["/admin/enquetes/2/unite/corriger".into()],
        ),
        (
            ("POST", "/admin/calendrier/annoncer"),
            vec!["/admin/calendrier/annoncer".into()],
        ),
        (
            ("POST", "/admin/calendrier/{collection}/{slug}/{change}"),
            vec![format!("/admin/calendrier/{c}/{slug}/confirmer")],
        ),
    ]
    .into_iter()
    .collect();
    let routes = nested_routes();
    let unknown: Vec<_> = routes
        .iter()
        .filter(|(m, p)| !concrete.contains_key(&(m.as_str(), p.as_str())))
        .collect();
    assert!(
        unknown.is_empty(),
        "give this walk the demo's values for the parameters of {unknown:?}"
    );
    let gone: Vec<_> = concrete
        .keys()
        .filter(|(m, p)| !routes.contains(&(m.to_string(), p.to_string())))
        .collect();
    assert!(gone.is_empty(), "routes no longer served: {gone:?}");

    // Every route, as every account: whatever the answer (a page, a file, a refusal, a
    // redirection), a shared cache may not keep it.
    let mut files_served = BTreeSet::new();
    let mut checked = 0;
    for ((method, _), urls) in &concrete {
        for url in urls {
            for (user, session) in &sessions {
                let reply = if *method == "GET" {
                    s.get(url, Some(&session.cookie)).await
                } else {
                    // The CSRF token is left out: the answer is a refusal, and no demo data
                    // changes under the walk.
                    s.post(url, Some(&session.cookie), &[]).await
                };
                assert_eq!(
                    reply.header("cache-control"),
                    "private, no-store",
                    "{method} {url} as {user} ({})",
                    reply.status
                );
                if reply.status == 200 && !reply.header("content-type").starts_with("text/html") {
                    files_served.insert(url.clone());
                }
                checked += 1;
            }
        }
    }
    for f in room_files.iter().chain(&transmission_files) {
        assert!(files_served.contains(f), "{f} was served: {files_served:?}");
    }
    assert!(checked > 200, "{checked} responses checked");

    // A public file asked with a session is private too; without one, a cache may keep it.
    let list = s.get("/publications", None).await;
    let first = attributes(&list.body, "href")
        .into_iter()
        .find(|h| h.starts_with("/publications/") && h.matches('/').count() == 3)
        .expect("a released publication");
    let page = s.get(&first, None).await;
    let file = attributes(&page.body, "href")
        .into_iter()
        .find(|h| h.contains("/donnees/"))
        .expect("a data file on the page");
    let anonymous = s.get(&file, None).await;
    assert_eq!(anonymous.status, 200, "{file}");
    // A released version's own file never changes: immutable. The latest version's file may
    // change with a correction: a cache keeps it a minute at most.
    let control = anonymous.header("cache-control");
    let versioned = file
        .split('/')
        .any(|part| part.len() > 1 && part.starts_with('v') && part[1..].parse::<u32>().is_ok());
    if versioned {
        assert_eq!(control, "public, max-age=31536000, immutable", "{file}");
    } else {
        let age = control
            .strip_prefix("public, max-age=")
            .and_then(|a| a.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{file}: {control:?}"));
        assert!(age <= 60, "{file}: kept {age} s");
    }
    let logged = s.get(&file, Some(&recipient.cookie)).await;
    assert_eq!(logged.header("cache-control"), "private, no-store");
    s.stop().await;
}

#[tokio::test]
async fn every_link_of_the_embargo_room_stays_in_the_room_and_answers() {
    let tmp = demo();
    let s = Server::serve_process(tmp.path()).await;
    let recipient = s.login("destinataire", "justat-demo-destinataire").await;
    terms_accepted(&s, &recipient).await;
    let (c, slug) = EMBARGOED;
    let public = format!("/publications/{c}/{slug}");
    let room = s.get("/admin/embargo", Some(&recipient.cookie)).await;
    let page = attributes(&room.body, "href")
        .into_iter()
        .find(|h| h.starts_with(&format!("/admin/embargo/{c}/{slug}")))
        .unwrap_or_else(|| panic!("the room links to the release: {}", room.body));
    let read = s.get(&page, Some(&recipient.cookie)).await;
    assert_eq!(read.status, 200);
    let release = s
        .store
        .release(c.parse().unwrap(), slug)
        .await
        .unwrap()
        .unwrap();
    assert!(
        release.release_at.unwrap() > jiff::Timestamp::now(),
        "read before the instant"
    );
    let mut links: Vec<String> = attributes(&read.body, "href");
    links.extend(attributes(&read.body, "src"));
    let in_room: Vec<&String> = links
        .iter()
        .filter(|l| l.starts_with(&format!("{page}/")))
        .collect();
    assert!(
        in_room.len() >= 5,
        "the figure's and the version's files: {links:?}"
    );
    for link in &links {
        assert!(
            !link.starts_with(&public) && !link.contains(&format!("{}{public}", s.base)),
            "{link} points at the public address, 404 until the instant"
        );
        if link.starts_with('#') || link.starts_with("https://") {
            continue;
        }
        assert!(link.starts_with('/'), "{link} is a link of this site");
        let r = s.get(link, Some(&recipient.cookie)).await;
        assert_eq!(r.status, 200, "{link} answers the recipient");
    }
    s.stop().await;
}

/// The revision of a list as the lists' page shows it to the head of service.
fn shown_revision(page: &str, c: &str, slug: &str) -> String {
    let form = format!("action=\"/admin/listes-embargo/{c}/{slug}/approuver\"");
    let at = page
        .find(&form)
        .unwrap_or_else(|| panic!("an approval form for {c}/{slug}: {page}"));
    let marker = "name=\"revision\" value=\"";
    let rest = &page[at..];
    let start = rest.find(marker).expect("the form names its revision") + marker.len();
    rest[start..start + rest[start..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn an_embargo_list_changed_after_it_was_shown_is_not_approved() {
    let tmp = demo();
    let s = Server::serve_process(tmp.path()).await;
    for who in ["paul", "lea"] {
        s.add_user(who, justat_model::Role::EmbargoRecipient).await;
    }
    let sessions = logged_in(&s).await;
    let (chef, sophie) = (&sessions["chef"], &sessions["statisticienne"]);
    let (c, slug) = EMBARGOED;
    let propose = |who: &'static str| {
        [
            ("csrf", sophie.csrf.clone()),
            ("release", format!("{c}/{slug}")),
            ("recipient", who.to_string()),
            ("function", "Conseiller".to_string()),
            (
                "organisation",
                "Inspection générale de la Justice".to_string(),
            ),
            ("email", format!("{who}@justice.gouv.fr")),
            ("justification", "Préparer une note".to_string()),
            ("category", "information".to_string()),
        ]
    };
    let server = &s;
    let post = |form: [(&'static str, String); 8]| async move {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        server
            .post(
                "/admin/listes-embargo/destinataires",
                Some(&sophie.cookie),
                &form,
            )
            .await
    };
    assert_eq!(post(propose("paul")).await.status, 303);
    // The head of service reads the list with Paul…
    let shown = s.get("/admin/listes-embargo", Some(&chef.cookie)).await;
    let seen = shown_revision(&shown.body, c, slug);
    // … while Léa is added.
    assert_eq!(post(propose("lea")).await.status, 303);
    let approve = format!("/admin/listes-embargo/{c}/{slug}/approuver");
    let stale = s
        .post(
            &approve,
            Some(&chef.cookie),
            &[("csrf", &chef.csrf), ("revision", &seen)],
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(
        stale
            .body
            .contains("La liste a changé depuis que vous l’avez affichée")
            && stale.body.contains("Rien n’a été approuvé"),
        "{}",
        stale.body
    );
    let list = s
        .store
        .embargo_list(c.parse().unwrap(), slug)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.status, justat_model::embargo::ListStatus::Proposed);
    // Without the revision shown, nothing is approved either.
    let blind = s
        .post(&approve, Some(&chef.cookie), &[("csrf", &chef.csrf)])
        .await;
    assert_eq!(blind.status, 400, "{}", blind.body);
    // Approved as shown again, with Léa.
    let shown = s.get("/admin/listes-embargo", Some(&chef.cookie)).await;
    let seen = shown_revision(&shown.body, c, slug);
    let done = s
        .post(
            &approve,
            Some(&chef.cookie),
            &[("csrf", &chef.csrf), ("revision", &seen)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let list = s
        .store
        .embargo_list(c.parse().unwrap(), slug)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.status, justat_model::embargo::ListStatus::Approved);
    assert_eq!(list.recipients.len(), 3);
    s.stop().await;
}

#[test]
fn the_command_line_approves_the_revision_it_names() {
    let tmp = demo();
    let p = tmp.path();
    let (c, slug) = EMBARGOED;
    let run = |args: &[&str]| justat_in(p, args, None);
    for who in ["paul", "lea"] {
        let o = justat_in(
            p,
            &[
                "user",
                "add",
                who,
                "--role",
                "embargo_recipient",
                "--password-stdin",
            ],
            Some("a-long-enough-password-1\n"),
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let add = |who: &str| {
        let email = format!("{who}@justice.gouv.fr");
        let o = run(&[
            "embargo",
            "add",
            c,
            slug,
            "--recipient",
            who,
            "--function",
            "Conseiller",
            "--organisation",
            "Inspection générale de la Justice",
            "--email",
            &email,
            "--justification",
            "Préparer une note",
            "--as",
            "statisticienne",
        ]);
        assert!(o.status.success(), "{}", text(&o));
    };
    add("paul");
    // Without a revision, the command shows the list and approves nothing.
    let blind = run(&["embargo", "approve", c, slug, "--as", "chef"]);
    assert!(!blind.status.success(), "{}", text(&blind));
    let shown = text(&blind);
    assert!(
        shown.contains("paul") && shown.contains("--revision"),
        "{shown}"
    );
    let revision = shown
        .split("revision ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("the list's revision: {shown}"))
        .trim_end_matches([')', ',', ':', '.'])
        .to_string();
    let listed = text(&run(&["embargo", "list", c, slug]));
    assert!(listed.contains(&revision), "{listed}");
    // A recipient added since: refused, nothing approved.
    add("lea");
    let stale = run(&[
        "embargo",
        "approve",
        c,
        slug,
        "--revision",
        &revision,
        "--as",
        "chef",
    ]);
    assert!(!stale.status.success(), "{}", text(&stale));
    assert!(text(&stale).contains("changed"), "{}", text(&stale));
    assert!(text(&run(&["embargo", "list", c, slug])).contains("list proposed"));
    // The revision now shown is approved.
    let listed = text(&run(&["embargo", "list", c, slug]));
    let revision = listed
        .split("revision ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .trim_end_matches([')', ',', ':', '.'])
        .to_string();
    let ok = run(&[
        "embargo",
        "approve",
        c,
        slug,
        "--revision",
        &revision,
        "--as",
        "chef",
    ]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("list approved by chef"), "{}", text(&ok));
}

/// Every public output of the demo: pages, lists, calendar, feeds, API, sitemap, search, and
/// each released publication's page.
async fn public_outputs(s: &Server, host: Option<&str>) -> Vec<(String, String)> {
    let get = |path: String| async move {
        let mut req = s.client.get(format!("{}{path}", s.base));
        if let Some(h) = host {
            req = req.header("host", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        (path, r.text().await.unwrap())
    };
    let mut paths: Vec<String> = [
        "/",
        "/publications",
        "/calendrier",
        "/calendrier.ics",
        "/calendrier.atom",
        "/api/v1/calendrier",
        "/sitemap.xml",
        "/recherche?q=condamnations",
        "/le-service",
        "/programme-de-travail",
        "/programme-de-travail/2026",
        "/programme-de-travail/2027",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    for c in [
        "chiffres-cles",
        "references-statistiques",
        "infostat",
        "infos-rapides",
    ] {
        paths.push(format!("/calendrier/{c}.ics"));
        paths.push(format!("/publications/{c}"));
    }
    let mut out = Vec::new();
    for p in paths {
        out.push(get(p).await);
    }
    let pages: BTreeSet<String> = out
        .iter()
        .flat_map(|(_, body)| attributes(body, "href"))
        .filter(|h| h.starts_with("/publications/") && h.matches('/').count() >= 3)
        .filter(|h| !h.contains("/donnees") && !h.ends_with(".pdf") && !h.ends_with(".zip"))
        .collect();
    assert!(pages.len() >= 3, "{pages:?}");
    for p in pages {
        out.push(get(p).await);
    }
    out
}

/// The words of a text outside its markup (tags and their attributes), split on what is not
/// a letter, a digit or `_`.
fn words(body: &str) -> BTreeSet<String> {
    let mut text = String::with_capacity(body.len());
    let mut in_tag = false;
    for ch in body.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn public_outputs_name_no_staff_account_and_ignore_the_requests_host() {
    let tmp = demo();
    let p = tmp.path();
    let o = justat_in(
        p,
        &[
            "user",
            "add",
            DISTINCT_STAFF,
            "--role",
            "head_of_service",
            "--password-stdin",
        ],
        Some("a-long-enough-password-1\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let (c, slug) = EMBARGOED;
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(50)).to_string();
    let o = justat_in(
        p,
        &[
            "calendar",
            "move",
            c,
            slug,
            "--at",
            &later,
            "--reason",
            "Données consolidées plus tard",
            "--as",
            DISTINCT_STAFF,
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let s = Server::serve_process(p).await;
    let outputs = public_outputs(&s, Some("evil.example")).await;
    for (path, body) in &outputs {
        assert!(
            !body.contains("evil.example"),
            "{path} reflects the request's Host: {body}"
        );
    }
    // The feeds' absolute addresses are the server's own (no `public_url` in the demo).
    let (_, atom) = outputs
        .iter()
        .find(|(p, _)| p == "/calendrier.atom")
        .unwrap();
    assert!(atom.contains(&format!("{}/calendrier", s.base)), "{atom}");
    let (_, sitemap) = outputs.iter().find(|(p, _)| p == "/sitemap.xml").unwrap();
    assert!(sitemap.contains(&format!("<loc>{}/", s.base)), "{sitemap}");

    // The history of dates says which role changed a release, never who.
    let (_, api) = outputs
        .iter()
        .find(|(p, _)| p == "/api/v1/calendrier")
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(api).unwrap();
    let mut strings = Vec::new();
    fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            serde_json::Value::Object(o) => o.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    collect(&json, &mut strings);
    let by: BTreeSet<&str> = json["releases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["history"].as_array().unwrap())
        .map(|h| h["by"].as_str().unwrap())
        .collect();
    assert!(by.contains("Chef·fe de service"), "{by:?}");
    assert!(
        api.contains("Données consolidées plus tard"),
        "the move is in the public history"
    );
    for (path, body) in &outputs {
        assert!(
            !body.contains(DISTINCT_STAFF),
            "{path} names the account that moved the release"
        );
        let found: Vec<&&str> = if path.starts_with("/api/") {
            STAFF
                .iter()
                .filter(|u| strings.iter().any(|s| s == **u))
                .collect()
        } else {
            let w = words(body);
            STAFF
                .iter()
                .filter(|u| **u != "pilotage" && w.contains(**u))
                .collect()
        };
        assert!(found.is_empty(), "{path} names staff accounts {found:?}");
    }
    s.stop().await;
}

/// The addresses of a route's path, each `{parameter}` replaced by each of its `values`.
fn expand(path: &str, values: &BTreeMap<&str, Vec<String>>) -> Vec<String> {
    let mut out = vec![String::new()];
    for segment in path.split('/').skip(1) {
        let options = match segment.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(p) => values
                .get(p)
                .unwrap_or_else(|| panic!("give this walk values for {{{p}}} of {path}"))
                .clone(),
            None => vec![segment.to_string()],
        };
        out = out
            .iter()
            .flat_map(|o| options.iter().map(move |v| format!("{o}/{v}")))
            .collect();
    }
    out
}

async fn jobs_queued(s: &Server) -> i64 {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&s.url).await.unwrap();
    let n = sqlx::query("SELECT COUNT(*) AS n FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get::<i64, _>("n");
    pool.close().await;
    n
}

#[tokio::test]
async fn no_get_request_queues_work() {
    let tmp = demo();
    let s = Server::serve_process(tmp.path()).await;
    let sessions = logged_in(&s).await;
    let recipient = &sessions["destinataire"];
    terms_accepted(&s, recipient).await;
    let (c, slug) = EMBARGOED;
    let version = s
        .store
        .publication_version(c.parse().unwrap(), slug, None)
        .await
        .unwrap()
        .expect("the embargoed version");
    let mut files: Vec<String> = version.files.iter().map(|f| f.name.clone()).collect();
    assert!(files.iter().any(|f| f == "publication.pdf"), "{files:?}");
    files.push("inconnu.csv".into());
    let values: BTreeMap<&str, Vec<String>> = [
        ("collection", vec![c.to_string()]),
        ("slug", vec![slug.to_string()]),
        ("version", vec![format!("v{}", version.version)]),
        ("file", files),
        ("id", vec!["1".to_string()]),
        ("job", vec!["1".to_string()]),
        ("administration", vec!["dpjj".to_string()]),
        ("indicator", vec!["cjpm_mejp".to_string()]),
        ("year", vec!["2026".to_string()]),
    ]
    .into_iter()
    .collect();
    let mut pages: Vec<String> = nested_routes()
        .into_iter()
        .filter(|(method, _)| method == "GET")
        .flat_map(|(_, path)| expand(&path, &values))
        .collect();
    let public = format!("/publications/{c}/{slug}");
    pages.extend(
        [
            "/",
            "/publications",
            "/recherche?q=peines",
            "/sitemap.xml",
            "/calendrier",
            "/calendrier.ics",
            "/calendrier.atom",
            "/api/v1/calendrier",
            "/programme-de-travail",
            "/programme-de-travail/2026",
            "/programme-de-travail/2026/programme-de-travail-2026.pdf",
            &public,
            &format!("{public}.pdf"),
            &format!("{public}/donnees.zip"),
        ]
        .map(String::from),
    );
    let before = jobs_queued(&s).await;
    let pdf = format!("/admin/embargo/{c}/{slug}/fichiers/publication.pdf");
    assert!(pages.contains(&pdf), "{pages:?}");
    for page in &pages {
        for (user, session) in &sessions {
            let reply = s.get(page, Some(&session.cookie)).await;
            if *user == "destinataire" && *page == pdf {
                assert_eq!(reply.status, 200, "{}", reply.body);
                assert!(
                    reply.body.contains("Préparer mon exemplaire"),
                    "{}",
                    reply.body
                );
            }
        }
        s.get(page, None).await;
    }
    assert_eq!(
        jobs_queued(&s).await,
        before,
        "a GET queued a job ({} addresses as each account)",
        pages.len()
    );
    s.stop().await;
}
