//! `justat demo`: the demo accounts (and, as later capabilities land, the demo data), then
//! the server.

use crate::config::Config;
use crate::serve::{open_store, serve_store};
use anyhow::Result;
use justat_model::{Role, Username};
use justat_store::{Actor, NewUser, Store, StoreError};

/// A demo account: login, password, role, name.
pub struct DemoAccount {
    /// Login name.
    pub username: &'static str,
    /// Its password (public: the demo binds to loopback by default).
    pub password: &'static str,
    /// Its role.
    pub role: Role,
    /// Name shown in pages.
    pub name: &'static str,
}

/// The demo accounts, one per role.
pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        username: "admin",
        password: "justat-demo-admin",
        role: Role::Admin,
        name: "Alice Martin",
    },
    DemoAccount {
        username: "statisticienne",
        password: "justat-demo-statisticienne",
        role: Role::Statistician,
        name: "Sophie Bernard",
    },
    DemoAccount {
        username: "chef",
        password: "justat-demo-chef",
        role: Role::HeadOfService,
        name: "Marc Lefèvre",
    },
    DemoAccount {
        username: "destinataire",
        password: "justat-demo-destinataire",
        role: Role::EmbargoRecipient,
        name: "Claire Dubois",
    },
    DemoAccount {
        username: "asp",
        password: "justat-demo-asp",
        role: Role::Asp,
        name: "Autorité de la statistique publique",
    },
    DemoAccount {
        username: "pilotage",
        password: "justat-demo-pilotage",
        role: Role::Administration,
        name: "Direction de la protection judiciaire de la jeunesse",
    },
];

/// Creates the demo accounts that do not exist yet; returns how many were created.
pub async fn prepare(store: &Store) -> Result<usize> {
    let mut created = 0;
    for a in DEMO_ACCOUNTS {
        let new = NewUser {
            username: Username::parse(a.username)?,
            display_name: a.name.to_string(),
            role: a.role,
            password: a.password.to_string(),
        };
        match store
            .create_user(&new, &Actor::system(), jiff::Timestamp::now())
            .await
        {
            Ok(_) => created += 1,
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(created)
}

pub async fn demo(config: &Config, prepare_only: bool) -> Result<()> {
    let store = open_store(config).await?;
    let created = prepare(&store).await?;
    println!(
        "demo data ready in {} ({created} accounts created)",
        config.data_dir.display()
    );
    println!();
    println!("demo accounts (for a local demo only: anyone who reads this can use them):");
    println!("  {:<16} {:<28} ROLE", "USERNAME", "PASSWORD");
    for a in DEMO_ACCOUNTS {
        println!(
            "  {:<16} {:<28} {}",
            a.username,
            a.password,
            a.role.label_fr()
        );
    }
    println!();
    if prepare_only {
        store.close().await;
        return Ok(());
    }
    serve_store(config, store).await
}
