use crate::env::{Env, column, json, penal_csv, penal_row};
use datafusion::arrow::array::{BooleanArray, Date32Array, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use justat_engine::EngineError;
use justat_engine::chain::{Chain, RunOptions, run_chain};
use justat_model::DeliveryStatus;
use justat_store::{Actor, ChainRun, LakeKind};
use std::sync::Arc;

async fn run(env: &Env, chain: &Chain, ids: &[i64]) -> Result<ChainRun, EngineError> {
    run_chain(
        &env.store,
        &env.lake,
        chain,
        ids,
        &RunOptions::default(),
        &Actor::cli(),
        &mut |_, _, _| {},
    )
    .await
}

const HEAD: &str = "id = \"t\"\nversion = 3\nlabel = \"test\"\nsource = \"penal\"\n";
const CUBE: &str = r#"
[[steps]]
kind = "cube"
name = "c"
period = "year"
unit = "auteurs"
source_line = "Source : test"
dimensions = [{ column = "court", codelist = "CL_COURT" }]
measures = [{ name = "n", aggregate = "count" }]
"#;

fn chain(steps: &str) -> Chain {
    Chain::parse(&format!("{HEAD}{steps}{CUBE}"), "test.toml").unwrap()
}

/// The cube's cells as (period, code, measure) text triples.
fn cells(env: &Env, run: &ChainRun, dim: &str, measure: &str) -> Vec<(String, String, String)> {
    let b = env.read(LakeKind::Cube, run.cube_id.as_ref().unwrap());
    let p = column(&b, "TIME_PERIOD");
    let d = column(&b, dim);
    let m = column(&b, measure);
    p.into_iter()
        .zip(d)
        .zip(m)
        .map(|((a, b), c)| (a, b, c))
        .collect()
}

fn rows_after(run: &ChainRun) -> Vec<u64> {
    run.manifest.steps.iter().map(|s| s.rows_after).collect()
}

async fn penal(env: &Env, n: usize) -> i64 {
    env.deliver(
        "penal",
        &format!("penal{n}.csv"),
        &penal_csv(&(0..n).map(penal_row).collect::<Vec<_>>()),
    )
    .await
    .id
}

#[tokio::test(flavor = "multi_thread")]
async fn filter_derive_and_cube_compute_every_level_and_the_total() {
    let env = Env::new().await;
    let id = penal(&env, 30).await;
    let c = chain(
        r#"
[[steps]]
kind = "filter"
where = "court <> 'TJ_1_118'"

[[steps]]
kind = "derive"
column = "year"
expression = "CAST(date_part('year', orientation_date) AS BIGINT)"
"#,
    );
    let r = run(&env, &c, &[id]).await.unwrap();
    assert_eq!(
        rows_after(&r),
        vec![30, 20, 20, 4],
        "input, filter, derive, cube cells"
    );
    let cube = cells(&env, &r, "court", "n");
    // TJ_1_119 (Agen) and TJ_1_93 (Auch) roll up into the cour d'appel d'Agen, then France.
    assert!(cube.contains(&("2024".into(), "TJ_1_119".into(), "10".into())));
    assert!(cube.contains(&("2024".into(), "TJ_1_93".into(), "10".into())));
    assert!(
        cube.contains(&("2024".into(), "CA_1_14".into(), "20".into())),
        "{cube:?}"
    );
    assert!(cube.contains(&("2024".into(), "_T".into(), "20".into())));
    assert_eq!(r.manifest.inputs[0].delivery, id);
    assert_eq!(r.manifest.chain_version, 3);
    assert!(r.manifest.software.starts_with("justat "));
}

#[tokio::test(flavor = "multi_thread")]
async fn error_rules_quarantine_rows_and_warnings_only_count() {
    let env = Env::new().await;
    let id = penal(&env, 12).await;
    let c = chain(
        r#"
[[steps]]
kind = "rule"
id = "E_NOT_AUCH"
expression = "court <> 'TJ_1_93'"
severity = "error"
message = "pas d'Auch"

[[steps]]
kind = "rule"
id = "W_YOUNG"
expression = "age >= 25"
severity = "warning"
message = "jeune"

[[steps]]
kind = "derive"
column = "year"
expression = "2024"
"#,
    );
    let r = run(&env, &c, &[id]).await.unwrap();
    assert_eq!(&rows_after(&r)[..4], &[12, 8, 8, 8]);
    let rules = &r.manifest.rules;
    assert_eq!(rules[0].id, "E_NOT_AUCH");
    assert_eq!(rules[0].failed, 4);
    assert_eq!(rules[1].severity, justat_model::manifest::Severity::Warning);
    assert_eq!(
        rules[1].failed, 3,
        "ages 20, 22 and 23 among the 8 kept rows"
    );
    let q = env.read(
        LakeKind::Quarantine,
        r.manifest.quarantine_sha256.as_ref().unwrap(),
    );
    assert_eq!(column(&q, "rule"), vec!["E_NOT_AUCH"; 4]);
    assert_eq!(column(&q, "line")[0], "3", "the line in the delivered file");
}

#[tokio::test(flavor = "multi_thread")]
async fn recode_through_a_codelist_level_or_a_mapping_quarantines_unmapped_codes() {
    let env = Env::new().await;
    let id = penal(&env, 9).await;
    let c = Chain::parse(
        &format!(
            "{HEAD}{}",
            r#"
[[steps]]
kind = "recode"
column = "natinf"
into = "offence_group"
codelist = "CL_OFFENCE"
level = 1

[[steps]]
kind = "recode"
column = "orientation"
into = "short"
mapping = { CSS_RECHINF = "CSS", ALT_APP = "ALT" }

[[steps]]
kind = "derive"
column = "year"
expression = "2024"

[[steps]]
kind = "cube"
name = "c"
period = "year"
unit = "auteurs"
source_line = "Source : test"
dimensions = [{ column = "offence_group", codelist = "CL_OFFENCE" }]
measures = [{ name = "n", aggregate = "count" }]
"#
        ),
        "t.toml",
    )
    .unwrap();
    let r = run(&env, &c, &[id]).await.unwrap();
    assert_eq!(
        &rows_after(&r)[..3],
        &[9, 9, 5],
        "POURS_COMPIM and NP_ABSINF rows have no image"
    );
    let cube = cells(&env, &r, "offence_group", "n");
    assert!(
        cube.contains(&("2024".into(), "G_BIENS".into(), "5".into())),
        "{cube:?}"
    );
    assert!(cube.contains(&("2024".into(), "_T".into(), "5".into())));
    let recode = r
        .manifest
        .rules
        .iter()
        .find(|x| x.id == "RECODE_SHORT")
        .unwrap();
    assert_eq!(recode.failed, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn unit_and_sql_steps_reshape_rows() {
    let env = Env::new().await;
    // Two offences for the same offender in the same case: one unit.
    let mut rows: Vec<String> = (0..6).map(penal_row).collect();
    rows.push(penal_row(0).replace(";7151;", ";7160;"));
    let id = env.deliver("penal", "p.csv", &penal_csv(&rows)).await.id;
    let c = chain(
        r#"
[[steps]]
kind = "unit"
name = "un auteur par affaire"
key = ["case_id", "offender_id"]
[steps.columns]
court = "min(court)"
n_offences = "count(*)"

[[steps]]
kind = "sql"
name = "année fixe"
reviewed_by = "relecture test"
query = "SELECT *, CAST(2024 AS BIGINT) AS year FROM input WHERE n_offences >= 1"
"#,
    );
    let r = run(&env, &c, &[id]).await.unwrap();
    assert_eq!(&rows_after(&r)[..3], &[7, 6, 6]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sorted_inputs_stream_into_the_same_cube_as_unsorted_ones() {
    let env = Env::new().await;
    // Every offender has two offences, one in each of two files sorted by case: their key
    // ranges overlap, so the unit is built across files. The same rows shuffled, in one file,
    // go through the hash aggregation: the cube must be the same, byte for byte.
    let mut first: Vec<String> = (0..400).map(penal_row).collect();
    first.sort_by_key(|r| r.split(';').next().unwrap().to_string());
    let second: Vec<String> = first
        .iter()
        .map(|r| {
            // Another offence for each: 7151 -> 7160 -> 7175 -> 7151.
            r.replace(";7151;", ";X;")
                .replace(";7175;", ";7151;")
                .replace(";7160;", ";7175;")
                .replace(";X;", ";7160;")
        })
        .collect();
    let a = env.deliver("penal", "a.csv", &penal_csv(&first)).await.id;
    let b = env.deliver("penal", "b.csv", &penal_csv(&second)).await.id;
    let mut all: Vec<String> = first.iter().chain(&second).cloned().collect();
    all.sort_by_key(|r| {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one(r)
    });
    let shuffled = env.deliver("penal", "all.csv", &penal_csv(&all)).await.id;
    let c = Chain::load("penal_orientations").unwrap();
    let sorted_run = run(&env, &c, &[a, b]).await.unwrap();
    let shuffled_run = run(&env, &c, &[shuffled]).await.unwrap();
    assert_eq!(rows_after(&sorted_run)[6], 400, "one unit per offender");
    assert_eq!(rows_after(&sorted_run), rows_after(&shuffled_run));
    assert_eq!(sorted_run.cube_id, shuffled_run.cube_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_inputs_and_chain_version_give_a_byte_identical_cube() {
    let env = Env::new().await;
    let id = penal(&env, 200).await;
    let c = Chain::load("penal_orientations").unwrap();
    let a = run(&env, &c, &[id]).await.unwrap();
    let b = run(&env, &c, &[id]).await.unwrap();
    assert_eq!(a.cube_id, b.cube_id);
    let path = env
        .lake
        .path(LakeKind::Cube, a.cube_id.as_ref().unwrap(), "parquet");
    assert_eq!(
        &justat_store::Lake::hash_file(&path).unwrap(),
        a.cube_id.as_ref().unwrap()
    );
    assert_eq!(env.store.cubes().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn chain_file_mistakes_are_refused_before_running() {
    let unknown = Chain::parse(
        &format!("{HEAD}[[steps]]\nkind = \"pivot\"\n{CUBE}"),
        "bad.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        unknown.contains("bad.toml") && unknown.contains("unknown variant `pivot`"),
        "{unknown}"
    );
    let no_cube = Chain::parse(
        &format!("{HEAD}[[steps]]\nkind = \"filter\"\nwhere = \"true\"\n"),
        "x.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(no_cube.contains("exactly one `cube`"), "{no_cube}");
    let unreviewed = Chain::parse(
        &format!(
            "{HEAD}[[steps]]\nkind = \"sql\"\nreviewed_by = \"\"\nquery = \"SELECT 1\"\n{CUBE}"
        ),
        "x.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        unreviewed.contains("step 1 (sql)") && unreviewed.contains("reviewed_by"),
        "{unreviewed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sql_error_names_the_step_and_leaves_no_cube() {
    let env = Env::new().await;
    let id = penal(&env, 5).await;
    let good = Chain::load("penal_orientations").unwrap();
    let first = run(&env, &good, &[id]).await.unwrap();
    let c = chain(
        "\n[[steps]]\nkind = \"derive\"\ncolumn = \"year\"\nexpression = \"no_such_column + 1\"\n",
    );
    let err = run(&env, &c, &[id]).await.unwrap_err().to_string();
    assert!(
        err.contains("chain `t`, step 1 (derive \"year\")") && err.contains("no_such_column"),
        "{err}"
    );
    // The failure is recorded, no cube was added, the earlier one is untouched.
    let runs = env.store.runs().await.unwrap();
    assert_eq!(runs[0].status, justat_model::RunStatus::Failed);
    assert!(runs[0].error.as_deref().unwrap().contains("no_such_column"));
    let cubes = env.store.cubes().await.unwrap();
    assert_eq!(cubes.len(), 1);
    assert_eq!(Some(cubes[0].id.clone()), first.cube_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn ko_deliveries_and_other_sources_cannot_feed_a_chain() {
    let env = Env::new().await;
    let ko = env.deliver("penal", "empty.csv", b"").await;
    let c = Chain::load("penal_orientations").unwrap();
    let e = run(&env, &c, &[ko.id]).await.unwrap_err().to_string();
    assert!(e.contains("checks ended KO"), "{e}");
    let prison = prison_parquet(&env).await;
    let e = run(&env, &c, &[prison]).await.unwrap_err().to_string();
    assert!(e.contains("source `prison`"), "{e}");
}

/// A valid prison extract delivered as Parquet (Int32 counts converted without loss).
async fn prison_parquet(env: &Env) -> i64 {
    let schema = Arc::new(Schema::new(vec![
        Field::new("establishment", DataType::Utf8, false),
        Field::new("establishment_type", DataType::Utf8, false),
        Field::new("month", DataType::Date32, false),
        Field::new("sex", DataType::Utf8, false),
        Field::new("age_group", DataType::Utf8, false),
        Field::new("detained", DataType::Boolean, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("persons", DataType::Int32, false),
        Field::new("operational_places", DataType::Int32, false),
    ]));
    let jan = justat_engine::value::days_from_civil(2024, 1, 1);
    let feb = justat_engine::value::days_from_civil(2024, 2, 1);
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["E_001", "E_001", "E_001"])),
            Arc::new(StringArray::from(vec!["MA", "MA", "MA"])),
            Arc::new(Date32Array::from(vec![jan, jan, feb])),
            Arc::new(StringArray::from(vec!["M", "F", "M"])),
            Arc::new(StringArray::from(vec!["Y30T39", "Y30T39", "Y30T39"])),
            Arc::new(BooleanArray::from(vec![true, true, true])),
            Arc::new(StringArray::from(vec!["PREVENU", "CONDAMNE", "CONDAMNE"])),
            Arc::new(Int32Array::from(vec![40, 3, 41])),
            Arc::new(Int32Array::from(vec![120, 120, 120])),
        ],
    )
    .unwrap();
    let mut bytes = Vec::new();
    let mut w = ArrowWriter::try_new(&mut bytes, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let d = env.deliver("prison", "prison.parquet", &bytes).await;
    assert_eq!(d.status, DeliveryStatus::Ok, "{}", json(&d.report));
    d.id
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prison_chain_counts_places_once_per_establishment_and_month() {
    let env = Env::new().await;
    let id = prison_parquet(&env).await;
    let r = run(&env, &Chain::load("prison_stock").unwrap(), &[id])
        .await
        .unwrap();
    let b = env.read(LakeKind::Cube, r.cube_id.as_ref().unwrap());
    let cells: Vec<String> = column(&b, "TIME_PERIOD")
        .into_iter()
        .zip(column(&b, "establishment"))
        .zip(column(&b, "ecroues").into_iter().zip(column(&b, "places")))
        .map(|((p, e), (n, pl))| format!("{p} {e} {n} {pl}"))
        .collect();
    let ca = justat_model::codelist::shipped_codelist("CL_ESTABLISHMENT")
        .unwrap()
        .parent("E_001")
        .unwrap()
        .to_string();
    assert!(
        cells.contains(&"2024-01 E_001 43 120".to_string()),
        "{cells:?}"
    );
    assert!(cells.contains(&format!("2024-01 {ca} 43 120")), "{cells:?}");
    assert!(
        cells.contains(&"2024-02 _T 41 120".to_string()),
        "{cells:?}"
    );
}

/// SQL a chain must not carry: (step kind, field, SQL, why it is refused).
const HOSTILE_SQL: &[(&str, &str, &str, &str)] = &[
    (
        "sql",
        "query",
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
        "DDL reading a file",
    ),
    (
        "sql",
        "query",
        "COPY (SELECT * FROM input) TO '/tmp/leak.csv'",
        "COPY writing a file",
    ),
    ("sql", "query", "INSERT INTO input VALUES (1)", "DML"),
    ("sql", "query", "DROP TABLE input", "DDL"),
    (
        "sql",
        "query",
        "CREATE VIEW v AS SELECT * FROM input",
        "a view",
    ),
    (
        "sql",
        "query",
        "SET datafusion.execution.batch_size = 1",
        "a setting",
    ),
    (
        "sql",
        "query",
        "RESET datafusion.execution.batch_size",
        "a reset",
    ),
    (
        "sql",
        "query",
        "EXPLAIN ANALYZE SELECT * FROM input",
        "EXPLAIN ANALYZE",
    ),
    (
        "sql",
        "query",
        "SELECT * FROM input; DROP TABLE input",
        "two statements",
    ),
    (
        "sql",
        "query",
        "SELECT * FROM input; SELECT * FROM input",
        "two queries",
    ),
    (
        "sql",
        "query",
        "SELECT * INTO copie FROM input",
        "SELECT INTO",
    ),
    (
        "sql",
        "query",
        "SELECT * FROM '/etc/passwd'",
        "a file path as a table",
    ),
    (
        "sql",
        "query",
        "SELECT * FROM read_parquet('/etc/x.parquet')",
        "a file-reading table function",
    ),
    (
        "sql",
        "query",
        "SELECT * FROM generate_series(1, 1000000000)",
        "a table function",
    ),
    (
        "sql",
        "query",
        "SELECT * FROM seg0",
        "another table of the run",
    ),
    (
        "sql",
        "query",
        "SELECT * FROM information_schema.df_settings",
        "the catalogue",
    ),
    (
        "sql",
        "query",
        "WITH x AS (SELECT * FROM input) SELECT * FROM x UNION ALL SELECT * FROM '/etc/passwd'",
        "a file behind a CTE",
    ),
    (
        "sql",
        "query",
        "SELECT * FROM input WHERE court IN (SELECT * FROM read_csv('/etc/passwd'))",
        "a file in a subquery",
    ),
    (
        "filter",
        "where",
        "TRUE), FALSE) AS k FROM t0; DROP TABLE t0; SELECT ((TRUE",
        "statements around an expression",
    ),
    (
        "filter",
        "where",
        "court IN (SELECT court FROM '/etc/passwd')",
        "a subquery",
    ),
    (
        "rule",
        "expression",
        "EXISTS (SELECT 1 FROM input)",
        "a subquery in a rule",
    ),
    (
        "rule",
        "expression",
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
        "DDL as a rule",
    ),
    ("derive", "expression", "1 AS y", "an alias"),
    (
        "derive",
        "expression",
        "(SELECT count(*) FROM generate_series(1, 10))",
        "a scalar subquery",
    ),
    ("derive", "expression", "age + 1, court", "two expressions"),
    (
        "unit",
        "n",
        "count(*) FROM t0 --",
        "a FROM after an aggregate",
    ),
];

fn hostile_step(kind: &str, field: &str, sql: &str) -> String {
    let sql = sql.replace('\\', "\\\\").replace('"', "\\\"");
    match kind {
        "sql" => format!(
            "\n[[steps]]\nkind = \"sql\"\nreviewed_by = \"relecture\"\n{field} = \"{sql}\"\n"
        ),
        "filter" => format!("\n[[steps]]\nkind = \"filter\"\n{field} = \"{sql}\"\n"),
        "rule" => format!(
            "\n[[steps]]\nkind = \"rule\"\nid = \"R\"\nseverity = \"error\"\nmessage = \"m\"\n{field} = \"{sql}\"\n"
        ),
        "derive" => {
            format!("\n[[steps]]\nkind = \"derive\"\ncolumn = \"y\"\n{field} = \"{sql}\"\n")
        }
        _ => format!(
            "\n[[steps]]\nkind = \"unit\"\nkey = [\"case_id\"]\n[steps.columns]\ncourt = \"min(court)\"\n{field} = \"{sql}\"\n"
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_whose_sql_is_not_one_read_only_query_is_refused_when_loaded() {
    for (kind, field, sql, why) in HOSTILE_SQL {
        // A harmless step first, so the hostile one is step 2, further down the file.
        let text = format!(
            "{HEAD}\n[[steps]]\nkind = \"derive\"\ncolumn = \"z\"\nexpression = \"1\"\n{}{CUBE}",
            hostile_step(kind, field, sql)
        );
        let line = 1 + text
            .lines()
            .position(|l| l.starts_with(&format!("{field} = ")) && l.contains(&sql[..4]))
            .unwrap();
        let e = Chain::parse(&text, "chaines/hostile.toml")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("chaines/hostile.toml:{line}: étape 2 ({kind})")),
            "{why}: line {line}: {e}"
        );
    }
    // Read-only queries and expressions stay allowed.
    for steps in [
        hostile_step(
            "sql",
            "query",
            "WITH x AS (SELECT * FROM input) SELECT * FROM x WHERE court <> 'TJ_1_118'",
        ),
        hostile_step(
            "sql",
            "query",
            "SELECT i.* FROM input i JOIN (SELECT DISTINCT court FROM input) c ON i.court = c.court",
        ),
        hostile_step("filter", "where", "court <> 'TJ_1_118' -- sauf un tribunal"),
        hostile_step(
            "derive",
            "expression",
            "CASE WHEN age < 18 THEN 'M' ELSE 'A' END",
        ),
        hostile_step("unit", "n", "count(DISTINCT offender_id)"),
    ] {
        Chain::parse(&format!("{HEAD}{steps}{CUBE}"), "ok.toml").unwrap();
    }
    for (id, _) in justat_engine::chain::SHIPPED {
        Chain::load(id).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chain_sql_runs_read_only_even_when_it_escaped_the_check() {
    let env = Env::new().await;
    let id = penal(&env, 5).await;
    let leak = env.dir.path().join("leak.csv");
    // A chain changed after it was loaded: the engine itself refuses to write or define.
    for query in [
        format!(
            "COPY (SELECT * FROM input) TO '{}' STORED AS CSV",
            leak.display()
        ),
        format!(
            "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{}'",
            env.dir.path().display()
        ),
        "SET datafusion.execution.batch_size = 1".to_string(),
    ] {
        let mut c =
            chain("\n[[steps]]\nkind = \"derive\"\ncolumn = \"year\"\nexpression = \"2024\"\n");
        c.steps.insert(
            1,
            justat_engine::chain::Step::Sql {
                name: None,
                reviewed_by: "relecture".into(),
                query: query.clone(),
            },
        );
        let e = run(&env, &c, &[id]).await.unwrap_err().to_string();
        assert!(e.contains("step 2 (sql)"), "{query}: {e}");
        assert!(!leak.exists(), "{query}: wrote {}", leak.display());
    }
}
