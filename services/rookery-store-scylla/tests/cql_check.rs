//! The CQL check: no ScyllaDB runs in CI, so every file in `schema/` and
//! every statement the store prepares (`cql::ALL`) is parsed with an
//! independent CQL parser (the `cql3-parser` crate, a tree-sitter grammar)
//! and each statement is checked against the tables the files define:
//! tables and columns exist, INSERTs set the whole primary key, reads and
//! deletes restrict the partition key by equality and the clustering key by
//! a prefix, and nothing needs ALLOW FILTERING. The last tests feed it bad
//! statements, to show each rule can fail.

use cql3_parser::alter_table::AlterTableOperation;
use cql3_parser::cassandra_ast::CassandraAST;
use cql3_parser::cassandra_statement::CassandraStatement;
use cql3_parser::common::{Identifier, Operand, RelationElement, RelationOperator};
use cql3_parser::select::SelectElement;
use rookery_store_scylla::{MIGRATIONS, Placeholders, Replication, cql};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug)]
struct Table {
    columns: BTreeSet<String>,
    partition: Vec<String>,
    clustering: Vec<String>,
}

type Schema = BTreeMap<String, Table>;

fn name(id: &Identifier) -> String {
    match id {
        Identifier::Unquoted(s) => s.to_lowercase(),
        Identifier::Quoted(s) => s.clone(),
    }
}

/// Parses one statement; the parser's panics and partial parses are errors.
/// (The parser takes no bind markers in a TTL, a TIMESTAMP or an UPDATE:
/// those are checked with literals in their place; the real node, in
/// `tests/conformance.rs`, takes the markers.)
fn parse(cql: &str) -> Result<CassandraStatement, String> {
    let mut literal = cql
        .replace("USING TTL ?", "USING TTL 60")
        .replace("USING TIMESTAMP ?", "USING TIMESTAMP 1");
    if literal.starts_with("UPDATE ") {
        literal = literal.replace('?', "0");
    }
    let parsed = std::panic::catch_unwind(|| {
        let ast = CassandraAST::new(&literal);
        (ast.has_error(), ast.statements)
    });
    let (has_error, mut statements) = parsed.map_err(|_| format!("parser crashed on {cql:?}"))?;
    if has_error || statements.len() != 1 || statements[0].has_error {
        return Err(format!("syntax error in {cql:?}"));
    }
    Ok(statements.remove(0).statement)
}

/// `frozen<T>` as `T`: the parser knows no `frozen` in `ALTER TABLE ... ADD`,
/// and freezing changes how a column is stored, not its name or the keys.
fn unfrozen(cql: &str) -> String {
    let mut out = cql.to_owned();
    while let Some(at) = out.to_lowercase().find("frozen<") {
        let inner = at + "frozen<".len();
        let mut depth = 0;
        let close = out[inner..]
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '<' => depth += 1,
                    '>' if depth == 0 => return true,
                    '>' => depth -= 1,
                    _ => {}
                }
                false
            })
            .map(|(i, _)| inner + i)
            .unwrap_or_else(|| panic!("unbalanced frozen<> in {cql:?}"));
        out = format!("{}{}{}", &out[..at], &out[inner..close], &out[close + 1..]);
    }
    out
}

/// The tables the schema files and the migrator's bootstrap create.
fn schema() -> Schema {
    let mut schema = Schema::new();
    let fill = Placeholders {
        keyspace: "rookery",
        replication: &Replication::Simple(1),
        keyspace_options: "",
    };
    let files = MIGRATIONS.iter().flat_map(|m| m.statements(&fill));
    let bootstrap = [cql::CREATE_LOCK, cql::CREATE_MIGRATIONS].map(str::to_owned);
    for text in files.chain(bootstrap) {
        match parse(&unfrozen(&text)).unwrap_or_else(|e| panic!("{e}")) {
            CassandraStatement::CreateKeyspace(_) => {}
            CassandraStatement::CreateTable(t) => {
                let table = table_of(&t).unwrap_or_else(|e| panic!("{}: {e}", name(&t.name.name)));
                assert!(t.if_not_exists, "{text}: DDL must be IF NOT EXISTS");
                schema.insert(name(&t.name.name), table);
            }
            CassandraStatement::AlterTable(a) => {
                let table = schema
                    .get_mut(&name(&a.name.name))
                    .unwrap_or_else(|| panic!("{text}: ALTER of an unknown table"));
                match &a.operation {
                    AlterTableOperation::Add(columns) => {
                        let added: Vec<String> = columns.iter().map(|c| name(&c.name)).collect();
                        not_reserved(&added).unwrap_or_else(|e| panic!("{text}: {e}"));
                        table.columns.extend(added);
                    }
                    other => panic!("{text}: only ADD is allowed, found {other:?}"),
                }
            }
            other => panic!("schema files hold only DDL, found {other}"),
        }
    }
    schema
}

/// CQL's reserved words (Cassandra's and ScyllaDB's lists): a column or
/// table named one is a syntax error on a real node, though the parser
/// here takes it (`token` was caught that way, by Cassandra).
const RESERVED: &[&str] = &[
    "add",
    "allow",
    "alter",
    "and",
    "apply",
    "asc",
    "authorize",
    "batch",
    "begin",
    "by",
    "columnfamily",
    "create",
    "delete",
    "desc",
    "describe",
    "drop",
    "entries",
    "execute",
    "from",
    "full",
    "grant",
    "if",
    "in",
    "index",
    "infinity",
    "insert",
    "into",
    "is",
    "keyspace",
    "limit",
    "materialized",
    "mbean",
    "mbeans",
    "modify",
    "nan",
    "norecursive",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "primary",
    "rename",
    "replace",
    "revoke",
    "schema",
    "select",
    "set",
    "table",
    "to",
    "token",
    "truncate",
    "unlogged",
    "unset",
    "update",
    "use",
    "using",
    "view",
    "where",
    "with",
];

fn not_reserved<'a>(names: impl IntoIterator<Item = &'a String>) -> Result<(), String> {
    match names.into_iter().find(|n| RESERVED.contains(&n.as_str())) {
        Some(n) => Err(format!("{n} is a reserved word in CQL")),
        None => Ok(()),
    }
}

fn table_of(t: &cql3_parser::create_table::CreateTable) -> Result<Table, String> {
    let columns: BTreeSet<String> = t.columns.iter().map(|c| name(&c.name)).collect();
    not_reserved(&columns)?;
    not_reserved([&name(&t.name.name)])?;
    let inline: Vec<String> = t
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| name(&c.name))
        .collect();
    let (partition, clustering) = match &t.key {
        Some(k) => (
            k.partition.iter().map(name).collect::<Vec<_>>(),
            k.clustering.iter().map(name).collect(),
        ),
        None => (inline, Vec::new()),
    };
    if partition.is_empty() {
        return Err("no primary key".into());
    }
    if let Some(missing) = partition
        .iter()
        .chain(&clustering)
        .find(|c| !columns.contains(*c))
    {
        return Err(format!("key column {missing} is not defined"));
    }
    Ok(Table {
        columns,
        partition,
        clustering,
    })
}

/// Checks one statement against the schema.
fn check(schema: &Schema, cql: &str) -> Result<(), String> {
    match parse(cql)? {
        CassandraStatement::Select(s) => {
            let table = lookup(schema, &s.table_name.name)?;
            if s.filtering {
                return Err("uses ALLOW FILTERING".into());
            }
            for element in &s.columns {
                match element {
                    SelectElement::Star => {}
                    SelectElement::Column(c) => column(table, &c.name)?,
                    SelectElement::Function(f) => return Err(format!("function {}", f.name)),
                }
            }
            if !s.where_clause.is_empty() {
                restrictions(table, &s.where_clause, false)?;
            }
            if let Some(order) = &s.order {
                let first = table.clustering.first().map(String::as_str);
                if s.where_clause.is_empty() || first != Some(name(&order.name).as_str()) {
                    return Err(format!(
                        "ORDER BY {} needs the partition restricted and the first clustering column",
                        name(&order.name)
                    ));
                }
            }
            Ok(())
        }
        CassandraStatement::Insert(i) => {
            let table = lookup(schema, &i.table_name.name)?;
            let set: BTreeSet<String> = i.columns.iter().map(name).collect();
            for c in &i.columns {
                column(table, c)?;
            }
            if let Some(k) = table
                .partition
                .iter()
                .chain(&table.clustering)
                .find(|k| !set.contains(*k))
            {
                return Err(format!("INSERT does not set key column {k}"));
            }
            match &i.values {
                cql3_parser::insert::InsertValues::Values(v) if v.len() == i.columns.len() => {
                    Ok(())
                }
                _ => Err("INSERT needs one value per column".into()),
            }
        }
        CassandraStatement::Delete(d) => {
            let table = lookup(schema, &d.table_name.name)?;
            let name = name(&d.table_name.name.clone());
            if !(PARTITION_DELETES.contains(&name.as_str())
                && whole_partition(table, &d.where_clause))
            {
                restrictions(table, &d.where_clause, true)?;
            }
            for c in &d.if_clause {
                operand_column(table, &c.obj)?;
            }
            Ok(())
        }
        CassandraStatement::Update(u) => {
            let table = lookup(schema, &u.table_name.name)?;
            for a in &u.assignments {
                column(table, &a.name.column)?;
            }
            restrictions(table, &u.where_clause, true)?;
            for c in &u.if_clause {
                operand_column(table, &c.obj)?;
            }
            Ok(())
        }
        CassandraStatement::CreateTable(_) | CassandraStatement::CreateKeyspace(_) => Ok(()),
        other => Err(format!("unexpected statement kind: {other}")),
    }
}

fn lookup<'a>(schema: &'a Schema, table: &Identifier) -> Result<&'a Table, String> {
    schema
        .get(&name(table))
        .ok_or_else(|| format!("no table {}", name(table)))
}

fn column(table: &Table, c: &Identifier) -> Result<(), String> {
    if table.columns.contains(&name(c)) {
        Ok(())
    } else {
        Err(format!("no column {}", name(c)))
    }
}

fn operand_column(table: &Table, o: &Operand) -> Result<String, String> {
    match o {
        Operand::Column(c) => column(table, c).map(|()| name(c)),
        other => Err(format!("restriction on {other}, not a column")),
    }
}

/// Tables whose whole partitions may be deleted: a message's reactions go
/// with it.
const PARTITION_DELETES: &[&str] = &["reactions"];

/// Whether a WHERE names exactly the partition key, by equality: a delete
/// of the whole partition, one partition tombstone (never a range).
fn whole_partition(table: &Table, wheres: &[RelationElement]) -> bool {
    let named: BTreeSet<String> = wheres
        .iter()
        .filter(|w| w.oper == RelationOperator::Equal)
        .filter_map(|w| operand_column(table, &w.obj).ok())
        .collect();
    wheres.len() == table.partition.len() && named == table.partition.iter().cloned().collect()
}

/// WHERE rules that avoid ALLOW FILTERING: the whole partition key by
/// equality, then a prefix of the clustering key, equality except the last
/// restricted column. `full_key` (deletes) demands every key column by
/// equality: no partition or range deletes, so no wide tombstones.
fn restrictions(table: &Table, wheres: &[RelationElement], full_key: bool) -> Result<(), String> {
    let mut by_column: BTreeMap<String, Vec<&RelationOperator>> = BTreeMap::new();
    for w in wheres {
        by_column
            .entry(operand_column(table, &w.obj)?)
            .or_default()
            .push(&w.oper);
    }
    let is_eq = |ops: &Vec<&RelationOperator>| ops.iter().all(|o| **o == RelationOperator::Equal);
    for p in &table.partition {
        match by_column.remove(p) {
            Some(ops) if is_eq(&ops) => {}
            Some(_) => return Err(format!("partition column {p} restricted by a range")),
            None => {
                return Err(format!(
                    "partition column {p} not restricted (needs ALLOW FILTERING)"
                ));
            }
        }
    }
    let mut prefix_open = true;
    for c in &table.clustering {
        match by_column.remove(c) {
            Some(_) if !prefix_open => {
                return Err(format!(
                    "clustering column {c} restricted after a gap or range"
                ));
            }
            Some(ops) => prefix_open = is_eq(&ops),
            None if full_key => return Err(format!("delete without clustering column {c}")),
            None => prefix_open = false,
        }
    }
    match by_column.keys().next() {
        Some(c) => Err(format!(
            "restriction on non-key column {c} (needs ALLOW FILTERING)"
        )),
        None => Ok(()),
    }
}

#[test]
fn every_schema_file_parses_and_defines_its_keys() {
    let schema = schema();
    for table in [
        "users",
        "usernames",
        "credentials",
        "guilds",
        "channels",
        "channels_by_guild",
        "members",
        "guilds_by_user",
        "invites",
        "messages",
        "channel_buckets",
        "pins",
        "reactions",
        "user_reactions",
        "nonces",
        "store_meta",
        "schema_migrations",
        "schema_lock",
    ] {
        assert!(schema.contains_key(table), "missing table {table}");
    }
    let messages = &schema["messages"];
    assert_eq!(messages.partition, ["channel_id", "bucket"]);
    assert_eq!(messages.clustering, ["message_id"]);
}

#[test]
fn every_prepared_statement_fits_the_schema() {
    let schema = schema();
    let failures: Vec<String> = cql::ALL
        .iter()
        .filter_map(|(n, text)| check(&schema, text).err().map(|e| format!("{n}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(cql::ALL.len() >= 30, "the list holds every statement");
}

#[test]
fn the_check_catches_each_kind_of_mistake() {
    let schema = schema();
    for (cql, expected) in [
        (
            "SELECT id, usernme FROM users WHERE id = ?",
            "no column usernme",
        ),
        ("SELECT id FROM user WHERE id = ?", "no table user"),
        (
            "SELECT id FROM users WHERE username = ?",
            "needs ALLOW FILTERING",
        ),
        (
            "SELECT id FROM users WHERE id = ? ALLOW FILTERING",
            "ALLOW FILTERING",
        ),
        (
            "SELECT content FROM messages WHERE channel_id = ? AND message_id < ?",
            "partition column bucket not restricted",
        ),
        (
            "SELECT content FROM messages WHERE channel_id = ? AND bucket > ?",
            "restricted by a range",
        ),
        (
            "SELECT content FROM messages WHERE channel_id = ? AND bucket = ? AND content = ?",
            "non-key column content",
        ),
        (
            "SELECT bucket FROM channel_buckets WHERE channel_id = ? ORDER BY channel_id ASC",
            "ORDER BY",
        ),
        (
            "INSERT INTO messages (channel_id, bucket, content) VALUES (?, ?, ?)",
            "message_id",
        ),
        (
            "INSERT INTO users (id, username) VALUES (?)",
            "one value per column",
        ),
        (
            "DELETE FROM messages WHERE channel_id = ? AND bucket = ?",
            "without clustering",
        ),
        (
            "DELETE FROM reactions WHERE channel_id = ? AND message_id = ? AND emoji = ?",
            "without clustering",
        ),
        ("SELEKT id FROM users", "syntax error"),
    ] {
        let err = check(&schema, cql).expect_err(cql);
        assert!(err.contains(expected), "{cql}: {err}");
    }
}

#[test]
fn a_reserved_word_as_a_column_is_refused() {
    let bad = "CREATE TABLE IF NOT EXISTS hooks (id bigint, token text, PRIMARY KEY (id))";
    let CassandraStatement::CreateTable(t) = parse(bad).unwrap() else {
        panic!("a CREATE TABLE");
    };
    let err = table_of(&t).expect_err("token is reserved");
    assert!(err.contains("token is a reserved word"), "{err}");
    let good = bad.replace("token", "secret");
    let CassandraStatement::CreateTable(t) = parse(&good).unwrap() else {
        panic!("a CREATE TABLE");
    };
    assert!(table_of(&t).is_ok());
}
