//! `justat user …`: account administration from the command line.

use crate::config::Config;
use crate::db::open_store;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use justat_model::{Role, Username};
use justat_store::{Actor, NewUser, sessions::random_token};
use std::io::BufRead;
use std::process::ExitCode;

/// Account commands. Passwords are never taken as arguments (they would show in the process
/// list and the shell history): they are read from standard input or generated.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Add {
        /// Login name (a-z, 0-9, '.', '_', '-').
        username: String,
        /// Role: statistician, head_of_service, embargo_recipient, asp, administration, admin.
        #[arg(long)]
        role: Role,
        /// Name shown in pages (default: the login name).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List {
        /// Print the list as JSON (instants in UTC, RFC 3339).
        #[arg(long)]
        json: bool,
    },
    /// Disable an account (it can no longer log in; its sessions end).
    Disable {
        /// Login name.
        username: String,
    },
    /// Re-enable a disabled account.
    Enable {
        /// Login name.
        username: String,
    },
    /// Change an account's role (its sessions end).
    SetRole {
        /// Login name.
        username: String,
        /// The new role.
        role: Role,
    },
    /// Attach an account of role `administration` to the administration whose steering
    /// dashboards it reads (DACG, DAP, DPJJ, DSJ, SADJAV…), or detach it with `none`.
    SetAdministration {
        /// Login name.
        username: String,
        /// The administration's code, or `none`.
        administration: String,
    },
    /// Set a new password (its sessions end).
    ResetPassword {
        /// Login name.
        username: String,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn password(from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let pw = line.trim_end_matches(['\n', '\r']).to_string();
        if pw.is_empty() {
            bail!("no password on standard input");
        }
        Ok((pw, false))
    } else {
        Ok((random_token()[..24].to_string(), true))
    }
}

/// Runs a `justat user` command.
pub async fn run(config: &Config, command: UserCommand) -> Result<ExitCode> {
    let store = open_store(config).await?;
    let actor = Actor::cli();
    let now = jiff::Timestamp::now();
    match command {
        UserCommand::Add {
            username,
            role,
            name,
            password_stdin,
        } => {
            let username = Username::parse(&username)?;
            let (pw, generated) = password(password_stdin)?;
            let display_name = name.unwrap_or_else(|| username.to_string());
            let user = store
                .create_user(
                    &NewUser {
                        username,
                        display_name,
                        role,
                        password: pw.clone(),
                    },
                    &actor,
                    now,
                )
                .await?;
            println!("created {} ({})", user.username, user.role);
            if generated {
                println!("password: {pw}");
                println!("(shown once: give it to its owner, who should change it)");
            }
        }
        UserCommand::List { json } => {
            let users = store.list_users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                let mut t =
                    justat_model::columns::Columns::new(&["USERNAME", "ROLE", "STATUS", "NAME"]);
                for u in users {
                    let status = if u.disabled { "disabled" } else { "active" };
                    t.row([
                        u.username.as_str(),
                        u.role.as_str(),
                        status,
                        &u.display_name,
                    ]);
                }
                print!("{}", t.render());
            }
        }
        UserCommand::Disable { username } => {
            store.set_disabled(&username, true, &actor, now).await?;
            println!("disabled {username}; its sessions have ended");
        }
        UserCommand::Enable { username } => {
            store.set_disabled(&username, false, &actor, now).await?;
            println!("enabled {username}");
        }
        UserCommand::SetRole { username, role } => {
            store.set_role(&username, role, &actor, now).await?;
            println!("{username} is now {role}; its sessions have ended");
        }
        UserCommand::SetAdministration {
            username,
            administration,
        } => {
            let code = if administration.eq_ignore_ascii_case("none") {
                None
            } else {
                let known = justat_indicators::Administration::ALL;
                let a = justat_indicators::Administration::parse(&administration)
                    .with_context(|| {
                        format!(
                            "unknown administration `{administration}`; expected one of: {}, or none",
                            known.iter().map(|a| a.code()).collect::<Vec<_>>().join(", ")
                        )
                    })?;
                Some(a.code())
            };
            store
                .set_user_administration(&username, code, &actor, now)
                .await?;
            match code {
                Some(c) => println!("{username} now reads the steering dashboards of the {c}"),
                None => println!("{username} belongs to no administration: it reads no dashboard"),
            }
        }
        UserCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            let (pw, generated) = password(password_stdin)?;
            store.reset_password(&username, &pw, &actor, now).await?;
            println!("password of {username} reset; its sessions have ended");
            if generated {
                println!("password: {pw}");
            }
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
