//! A real server on 127.0.0.1:0 with a temporary SQLite database (or PostgreSQL), and a
//! small HTTP client that keeps cookies by hand so tests can check their attributes.

use justat_model::{Role, Username};
use justat_store::{Actor, NewUser, Store};
use justat_web::{AppState, WebConfig};
use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderMap, LOCATION, SET_COOKIE};

pub struct Server {
    pub base: String,
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    pub url: String,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    process: Option<Process>,
}

/// A `justat serve` process, killed when dropped (a failing test leaves no server behind).
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    pub fn location(&self) -> String {
        self.header(LOCATION.as_str())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(String::from)
            .collect()
    }

    /// The value this reply sets for cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let first = c.split(';').next()?;
            let (k, v) = first.split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
    }

    /// The first hidden `csrf` field of the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a csrf field on the page") + marker.len();
        self.body[start..start + 64].to_string()
    }
}

/// A logged-in browser.
#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(WebConfig::default()).await
    }

    pub async fn start_with(config: WebConfig) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let url = justat_store::sqlite_url(dir.path());
        Server::start_on(dir, url, config).await
    }

    pub async fn start_on(dir: tempfile::TempDir, url: String, config: WebConfig) -> Server {
        Server::start_with_catalog(dir, url, config, justat_web::Catalog::default()).await
    }

    /// The in-process server knowing the sources and chains of `catalog`.
    pub async fn start_with_catalog(
        dir: tempfile::TempDir,
        url: String,
        config: WebConfig,
        catalog: justat_web::Catalog,
    ) -> Server {
        let store = Store::open_and_migrate(&url).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone(), config, catalog);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            justat_web::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Server {
            base,
            store,
            _dir: Some(dir),
            url,
            client,
            shutdown: Some(tx),
            task: Some(task),
            process: None,
        }
    }

    /// `justat serve` as a process — with its job runner, which the in-process server lacks —
    /// on the data that `justat_in(dir, …)` prepared.
    pub async fn serve_process(dir: &std::path::Path) -> Server {
        Server::serve_process_with(dir, &[]).await
    }

    /// `serve_process` with more environment variables (configuration keys, test switches).
    pub async fn serve_process_with(dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(justat_binary())
            .arg("serve")
            .current_dir(dir)
            .env("JUSTAT_DATA_DIR", dir.join("data"))
            .env("JUSTAT_LISTEN", "127.0.0.1:0")
            .env("JUSTAT_LOG", "warn")
            .env_remove("JUSTAT_DATABASE_URL")
            .env_remove("JUSTAT_CONFIG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let process = Process(child);
        let mut stdout = std::io::BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        // Closed after the address: the server writes nothing more there (a write would kill
        // it, as `justat` takes the default SIGPIPE for its commands' pipes); it logs instead.
        drop(stdout);
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("justat serve printed `{line}`"))
            .to_string();
        let url = justat_store::sqlite_url(&dir.join("data"));
        let store = Store::open_and_migrate(&url).await.unwrap();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Server {
            base,
            store,
            _dir: None,
            url,
            client,
            shutdown: None,
            task: None,
            process: Some(process),
        }
    }

    /// The id of the `justat serve` process, for a server started by [`Server::serve_process`].
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.0.id())
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        drop(self.process.take());
        self.store.close().await;
    }

    pub async fn add_user(&self, name: &str, role: Role) {
        self.store
            .create_user(
                &NewUser {
                    username: Username::parse(name).unwrap(),
                    display_name: format!("{name} (test)"),
                    role,
                    password: format!("{name}-password-123"),
                },
                &Actor::system(),
                jiff::Timestamp::now(),
            )
            .await
            .unwrap();
    }

    async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        Server::reply(req.send().await.unwrap()).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        cookie: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, content_type)
            .body(body);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        Server::reply(req.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(form).unwrap();
        self.post_raw(
            path,
            cookie,
            "application/x-www-form-urlencoded",
            body.into_bytes(),
        )
        .await
    }

    /// Fetches the login form and posts the credentials; returns the reply to the POST and
    /// the login CSRF cookie used.
    pub async fn try_login(&self, user: &str, password: &str) -> Reply {
        let page = self.get("/connexion", None).await;
        let csrf_cookie = page
            .cookie("justat_login_csrf")
            .expect("the login page sets its CSRF cookie");
        let cookie = format!("justat_login_csrf={csrf_cookie}");
        self.post(
            "/connexion",
            Some(&cookie),
            &[
                ("csrf", &page.csrf()),
                ("username", user),
                ("password", password),
            ],
        )
        .await
    }

    pub async fn login(&self, user: &str, password: &str) -> Session {
        let reply = self.try_login(user, password).await;
        assert_eq!(reply.status, 303, "login of {user} failed: {}", reply.body);
        let token = reply.cookie("justat_session").expect("a session cookie");
        let cookie = format!("justat_session={token}");
        let admin = self.get("/admin", Some(&cookie)).await;
        assert_eq!(admin.status, 200);
        Session {
            cookie,
            csrf: admin.csrf(),
        }
    }

    pub async fn login_as(&self, name: &str, role: Role) -> Session {
        self.add_user(name, role).await;
        self.login(name, &format!("{name}-password-123")).await
    }
}

/// The `justat` binary the tests drive: `JUSTAT_TEST_BINARY` when set — a copy taken right
/// after the build, when the target folder is shared with other checkouts that may replace
/// Cargo's copy while the tests run — else the one Cargo built.
pub fn justat_binary() -> std::path::PathBuf {
    std::env::var_os("JUSTAT_TEST_BINARY")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_justat").into())
}

/// Runs the `justat` binary in `dir`, its data in `dir/data`, with `stdin` if given (and no
/// database URL or configuration file from the environment).
pub fn justat_in(
    dir: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(justat_binary())
        .args(args)
        .current_dir(dir)
        .env("JUSTAT_DATA_DIR", dir.join("data"))
        .env("JUSTAT_LOG", "warn")
        .env_remove("JUSTAT_DATABASE_URL")
        .env_remove("JUSTAT_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// What a command printed, stdout then stderr.
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A temporary folder whose data holds a convictions cube of 2024 (synthetic criminal-record
/// extract, delivered and run through its chain), built from `seed`.
pub fn with_convictions_cube(seed: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    for args in [
        &[
            "generate", "cjn", "--years", "2024", "--scale", "0.005", "--seed", seed, "--out",
            "ext",
        ][..],
        &["delivery", "add", "cjn", "ext/cjn_2024.csv"],
        &["chain", "run", "cjn_convictions", "--delivery", "1"],
    ] {
        let o = justat_in(p, args, None);
        assert!(o.status.success(), "{args:?}: {}", output_text(&o));
    }
    tmp
}

impl Server {
    /// The in-process server on the data that `justat_in(dir, …)` prepared (its database and
    /// its lake).
    pub async fn on_data(dir: &std::path::Path) -> Server {
        let data = dir.join("data");
        Server::start_on(
            tempfile::tempdir().unwrap(),
            justat_store::sqlite_url(&data),
            WebConfig {
                data_dir: data,
                ..WebConfig::default()
            },
        )
        .await
    }

    /// The page of a job (`location`) once the job has ended: it no longer says it is pending.
    pub async fn finished(&self, cookie: &str, location: &str) -> String {
        for _ in 0..600 {
            let page = self.get(location, Some(cookie)).await;
            assert_eq!(page.status, 200, "{location}");
            if !page.body.contains("data-job-pending") {
                return page.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("the job of {location} did not end in two minutes");
    }
}
