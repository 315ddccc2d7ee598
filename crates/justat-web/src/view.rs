//! Templates (embedded at build time) and the context every page shares.

use crate::assets::dsfr_base;
use crate::auth::SessionCtx;
use axum::response::Html;
use minijinja::{Environment, Value, context};
use std::sync::OnceLock;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "home.html",
    "service.html",
    "login.html",
    "error.html",
    "accessibilite.html",
    "mentions_legales.html",
    "donnees_personnelles.html",
    "publications.html",
    "calendrier.html",
    "recherche.html",
    "publication.html",
    "publication_chiffres_cles.html",
    "publication_references_statistiques.html",
    "publication_infostat.html",
    "publication_infos_rapides.html",
    "admin/index.html",
    "admin/audit.html",
    "admin/users.html",
    "admin/deliveries.html",
    "admin/delivery.html",
    "admin/chains.html",
    "admin/run.html",
    "admin/job.html",
    "admin/publications.html",
    "admin/publication.html",
    "admin/publication_editor.html",
    "admin/embargo.html",
    "admin/embargo_publication.html",
    "admin/embargo_copy.html",
    "admin/embargo_lists.html",
    "admin/calendar.html",
    "admin/embargo_transmission.html",
    "admin/dashboards.html",
    "admin/dashboard_indicator.html",
    "programme.html",
    "programme_enquete.html",
    "admin/programme.html",
    "admin/programme_operation.html",
    "admin/programme_opinion.html",
    "admin/surveys.html",
    "admin/survey_campaign.html",
    "admin/survey_unit.html",
    "survey/_portal.html",
    "survey/code.html",
    "survey/home.html",
    "survey/page.html",
    "survey/review.html",
    "survey/receipt.html",
);

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_formatter(html_formatter);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("embedded templates parse (checked by a unit test)");
        }
        env
    })
}

/// Escapes `& < > " '` in strings, like minijinja's default, but leaves `/` alone so that
/// URLs and MIME types stay readable in the HTML source.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    match value.as_str() {
        Some(s)
            if !value.is_safe() && matches!(state.auto_escape(), minijinja::AutoEscape::Html) =>
        {
            let mut escaped = String::with_capacity(s.len());
            for c in s.chars() {
                match c {
                    '&' => escaped.push_str("&amp;"),
                    '<' => escaped.push_str("&lt;"),
                    '>' => escaped.push_str("&gt;"),
                    '"' => escaped.push_str("&quot;"),
                    '\'' => escaped.push_str("&#x27;"),
                    c => escaped.push(c),
                }
            }
            out.write_str(&escaped).map_err(|_| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write the page")
            })
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// A serialisable value (a view-model struct) as a template value.
pub fn ser<T: serde::Serialize>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// Renders a full page: `template` with the shared context (title, navigation, session,
/// DSFR path) merged with `extra`.
pub fn render_page(
    template: &str,
    title: &str,
    nav: &str,
    session: Option<&SessionCtx>,
    extra: Value,
) -> Result<Html<String>, minijinja::Error> {
    let session = session.map(|s| {
        context! {
            display_name => s.user.display_name.clone(),
            username => s.user.username.clone(),
            role_label => s.user.role.label_fr(),
            csrf => s.csrf.clone(),
        }
    });
    let ctx = context! { title, nav, session, dsfr => dsfr_base(), ..extra };
    environment().get_template(template)?.render(ctx).map(Html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_but_slashes_kept() {
        let mut env = Environment::new();
        env.set_formatter(html_formatter);
        env.add_template("t.html", "{{ v }}").unwrap();
        let out = env
            .get_template("t.html")
            .unwrap()
            .render(context! { v => "<a href=\"/x\">O'K & co</a>" })
            .unwrap();
        assert_eq!(
            out,
            "&lt;a href=&quot;/x&quot;&gt;O&#x27;K &amp; co&lt;/a&gt;"
        );
    }

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            environment().get_template(name).unwrap();
        }
    }
}
