//! The SQL of search and history, shared by SQLite and PostgreSQL. Every criterion is a
//! lookup on a `search_index` index (by value or by date range); a search intersects those
//! sets of owners, so its cost follows the matches, not the table. `_id` and `_lastUpdated`
//! are the exception: the resource tables hold both already (their keys and the type history
//! index), so they have no index rows and are looked up there.
//!
//! The backends lay the rows out differently. PostgreSQL's name their owner by type and id and
//! their parameter by name. SQLite's name their owner by `rk`, its `resource_current` rowid,
//! and (type, parameter) by a code (`param_code`); it also keeps the rows of recent commits in
//! `search_index_recent` until they are merged in bulk, and every statement reads both tables
//! (`Builder::row_tables`). A set of matches is a column `owner`: the id on PostgreSQL, the
//! rk on SQLite, turned into ids where a page or a chain needs them.

use super::{param_code, uuid_value};
use fhir_engine::search::index::{parse_reference, STAMPED_PARAMS};
use fhir_engine::search::{
    Clause, Criterion, DatePrefix, HistoryQuery, IndexValue, Match, SearchQuery, SortKey,
    StringMode,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Int(i64),
    /// A UUID-shaped value as SQLite's index rows hold it (`uuid_value`).
    Bytes(Vec<u8>),
}

/// A statement with numbered placeholders (`?1` / `$1`) and its arguments in order.
#[derive(Debug, Clone)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
    /// A lookup by key (bodies of known ids, include targets): its best plan does not depend
    /// on the values, so it may be prepared once and reused.
    pub key_lookup: bool,
}

pub struct Builder {
    dialect: Dialect,
    args: Vec<Arg>,
}

/// Characters of `val` and `sys` that PostgreSQL's value index holds (`left(val, 200)`, as
/// created by its migration 6): a B-tree entry holds at most about 2.7 KB, and clinical text
/// is longer. Queries there compare the indexed prefix, then the whole value.
pub const PG_KEY_CHARS: usize = 200;

/// Sorts after every other text in byte order: the upper end of a prefix range.
const TEXT_MAX: char = '\u{10FFFF}';
const DAY_MS: i64 = 86_400_000;

/// Lower is more selective: which clause should drive a search.
fn selectivity(criteria: &[Criterion]) -> u8 {
    criteria
        .iter()
        .map(|c| match &c.matches {
            Match::Chain(_) | Match::Has { .. } => 0,
            Match::Token { .. } if matches!(c.param.as_str(), "_id" | "identifier") => 0,
            Match::Reference { .. } | Match::ReferenceText(_) => 1,
            Match::String {
                mode: StringMode::Exact(_),
                ..
            } => 1,
            Match::String { .. } | Match::Uri(_) => 2,
            Match::Token { .. } => 3,
            Match::Date { .. } => 4,
        })
        .max()
        .unwrap_or(5)
}

impl Builder {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            args: Vec::new(),
        }
    }

    pub fn finish(self, text: String) -> Sql {
        Sql {
            text,
            args: self.args,
            key_lookup: false,
        }
    }

    /// `finish` for a lookup by key (see `Sql::key_lookup`).
    pub fn finish_lookup(self, text: String) -> Sql {
        Sql {
            key_lookup: true,
            ..self.finish(text)
        }
    }

    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.args.len()),
            Dialect::Postgres => format!("${}", self.args.len()),
        }
    }

    fn text(&mut self, s: &str) -> String {
        self.arg(Arg::Text(s.to_string()))
    }

    fn int(&mut self, i: i64) -> String {
        self.arg(Arg::Int(i))
    }

    /// A token code or reference id to compare with `val`: on SQLite a UUID as its bytes,
    /// as the rows hold it (`uuid_value`).
    fn key(&mut self, value: &str) -> String {
        match (self.dialect, uuid_value::bytes(value)) {
            (Dialect::Sqlite, Some(b)) => self.arg(Arg::Bytes(b.to_vec())),
            _ => self.text(value),
        }
    }

    /// The condition that picks the index rows of a parameter of the type: its code on SQLite
    /// (0, which no parameter has, for one without rows), its names on PostgreSQL.
    fn param_rows(&mut self, rt: &str, param: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let tp = self.int(param_code::code(rt, param).unwrap_or(0));
                format!("tp = {tp}")
            }
            Dialect::Postgres => {
                let (rt, param) = (self.text(rt), self.text(param));
                format!("resource_type = {rt} AND param = {param}")
            }
        }
    }

    /// The column of an index row, and of `resource_current`, that names its owner as a set
    /// of matches holds it (`owner`): the rk on SQLite, the id on PostgreSQL (where
    /// `param_rows` names the type).
    fn owner_column(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "rk",
            Dialect::Postgres => "id",
        }
    }

    /// The ids of a set of matches `(set)` (column `owner`), all of one type, as `val` holds
    /// them. `CROSS JOIN` keeps SQLite's join order: the set drives, each rk a lookup, never a
    /// walk of the table.
    fn ids_of(&self, set: &str, alias: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!(
                "SELECT {} FROM ({set}) AS {alias} CROSS JOIN resource_current {alias}c ON {alias}c.rk = {alias}.owner",
                uuid_value::compact_sql(&format!("{alias}c.id"))
            ),
            Dialect::Postgres => format!("SELECT owner FROM ({set}) AS {alias}"),
        }
    }

    fn body_column(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "v.body",
            Dialect::Postgres => "v.body_text",
        }
    }

    /// The tables of index rows, each with the clause that names its index by owner id.
    /// SQLite keeps a commit's new rows in `search_index_recent` until the writer merges them
    /// in bulk (`store::sqlite::index_merge`); a resource's rows are all in one of the two, so
    /// a search reads both and a lookup by owner finds it in either. SQLite plans without
    /// statistics and would walk the value index for lookups by owner, hence its key named
    /// (`NOT INDEXED`: a table keyed by owner is read along that key); PostgreSQL chooses
    /// well on its own.
    fn row_tables(&self) -> &'static [(&'static str, &'static str)] {
        match self.dialect {
            Dialect::Sqlite => &[
                // keyed by owner, (rk, tp, n): NOT INDEXED leaves SQLite that key
                ("search_index", " NOT INDEXED"),
                // keyed the same, and without another index
                ("search_index_recent", ""),
            ],
            Dialect::Postgres => &[("search_index", "")],
        }
    }

    /// One statement per table of index rows, joined by `op` (`UNION`, `UNION ALL`, `OR`).
    fn over_rows(&self, op: &str, arm: impl Fn(&str, &str) -> String) -> String {
        self.row_tables()
            .iter()
            .map(|(table, by_owner)| arm(table, by_owner))
            .collect::<Vec<_>>()
            .join(op)
    }

    /// `column = p`, on PostgreSQL through the prefix its index holds.
    fn eq(&self, column: &str, p: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("{column} = {p}"),
            Dialect::Postgres => {
                format!(
                    "left({column}, {PG_KEY_CHARS}) = left({p}, {PG_KEY_CHARS}) AND {column} = {p}"
                )
            }
        }
    }

    /// The `val` expression to match resource ids against: ids have at most 64 characters,
    /// so on PostgreSQL the indexed prefix equals an id exactly when the value does.
    fn id_key(&self) -> String {
        match self.dialect {
            Dialect::Sqlite => "val".into(),
            Dialect::Postgres => format!("left(val, {PG_KEY_CHARS})"),
        }
    }

    /// `low <= val < high`; truncating both sides keeps the order, so on PostgreSQL the
    /// indexed prefix bounds the range before the whole value decides.
    fn range(&self, low: &str, high: &str) -> String {
        let exact = format!("val >= {low} AND val < {high}");
        match self.dialect {
            Dialect::Sqlite => exact,
            Dialect::Postgres => format!(
                "left(val, {PG_KEY_CHARS}) >= left({low}, {PG_KEY_CHARS}) AND left(val, {PG_KEY_CHARS}) <= left({high}, {PG_KEY_CHARS}) AND {exact}"
            ),
        }
    }

    /// Each resource's current version: `c` its `resource_current` row, `v` that version's
    /// row, found on SQLite by the resource's key (rk).
    fn current_version(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => {
                "resource_current c JOIN resource_version v \
                 ON v.rk = c.rk AND v.version_id = c.version_id"
            }
            Dialect::Postgres => {
                "resource_current c JOIN resource_version v \
                 ON v.resource_type = c.resource_type AND v.id = c.id AND v.version_id = c.version_id"
            }
        }
    }

    fn not_deleted(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "v.deleted = 0",
            Dialect::Postgres => "NOT v.deleted",
        }
    }

    /// Every live resource of the type.
    fn all_of_type(&mut self, rt: &str) -> String {
        self.live(rt, "1 = 1", false)
    }

    /// Live resources of the type meeting `cond` on the current version (`c`: its
    /// `resource_current` row, `v`: its `resource_version` row). `correlated`: a check of the
    /// candidate `{d}.owner` rather than a set of owners.
    fn live(&mut self, rt: &str, cond: &str, correlated: bool) -> String {
        let rt = self.text(rt);
        let owner = self.owner_column();
        let (select, candidate) = if correlated {
            (
                "SELECT 1".to_string(),
                format!(" AND c.{owner} = {{d}}.owner"),
            )
        } else {
            (format!("SELECT c.{owner} AS owner"), String::new())
        };
        // the type on both sides: a list of every resource of a type walks the versions' type
        // history index; resource_current is keyed by id first
        format!(
            "{select} FROM {} \
              WHERE c.resource_type = {rt} AND v.resource_type = {rt}{candidate} AND {} AND {cond}",
            self.current_version(),
            self.not_deleted()
        )
    }

    /// `_id` and `_lastUpdated`, on the resource tables; `None` for every other parameter.
    fn on_resource_tables(&mut self, rt: &str, c: &Criterion, correlated: bool) -> Option<String> {
        if !STAMPED_PARAMS.contains(&c.param.as_str()) {
            return None;
        }
        let cond = match (c.param.as_str(), &c.matches) {
            // an id has no system: `_id=s|x` matches nothing, `_id=|x` what `_id=x` does
            ("_id", Match::Token { system, code })
                if system.as_deref().is_none_or(str::is_empty) =>
            {
                format!("c.id = {}", self.text(code))
            }
            ("_lastUpdated", Match::Date { prefix, range }) => {
                let at = "v.last_updated_ms";
                self.date_between(at, at, *prefix, range.low, range.high)
            }
            _ => "1 = 0".into(),
        };
        Some(self.live(rt, &cond, correlated))
    }

    /// The owners of the type matching every clause. The most selective clause drives (an
    /// indexed lookup); every other clause is a correlated check of each candidate on the
    /// `(resource_type, id, param)` index, so a broad clause such as `status=active` never
    /// materialises all its ids.
    pub fn matching(&mut self, rt: &str, clauses: &[Clause]) -> String {
        let driver = clauses
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Clause::Any(criteria) => Some((selectivity(criteria), i)),
                _ => None,
            })
            .min()
            .map(|(_, i)| i);
        let source = match driver.map(|i| &clauses[i]) {
            Some(Clause::Any(criteria)) => self.union(rt, criteria),
            _ => self.all_of_type(rt),
        };
        let filters: Vec<String> = clauses
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != driver)
            .map(|(_, c)| self.filter(rt, c))
            .collect();
        let n = self.args.len();
        if filters.is_empty() {
            format!("SELECT d{n}.owner FROM ({source}) AS d{n}")
        } else {
            let filters = filters.join(" AND ").replace("{d}", &format!("d{n}"));
            format!("SELECT d{n}.owner FROM ({source}) AS d{n} WHERE {filters}")
        }
    }

    /// A clause as a condition on the candidate `{d}.owner`.
    fn filter(&mut self, rt: &str, clause: &Clause) -> String {
        match clause {
            Clause::Any(criteria) => {
                let any: Vec<String> = criteria
                    .iter()
                    .map(|c| format!("EXISTS ({})", self.criterion_for(rt, c, true)))
                    .collect();
                format!("({})", any.join(" OR "))
            }
            Clause::None(criteria) => {
                let none: Vec<String> = criteria
                    .iter()
                    .map(|c| format!("NOT EXISTS ({})", self.criterion_for(rt, c, true)))
                    .collect();
                format!("({})", none.join(" AND "))
            }
            // every live resource has an id and a lastUpdated
            Clause::Missing { param, missing } if STAMPED_PARAMS.contains(&param.as_str()) => {
                if *missing { "1 = 0" } else { "1 = 1" }.into()
            }
            Clause::Missing { param, missing } => {
                let rows = self.param_rows(rt, param);
                let owner = self.owner_column();
                let exists = self.over_rows(" OR ", |table, by_owner| {
                    format!(
                        "EXISTS (SELECT 1 FROM {table}{by_owner} WHERE {rows} AND {owner} = {{d}}.owner)"
                    )
                });
                if *missing {
                    format!("NOT ({exists})")
                } else {
                    format!("({exists})")
                }
            }
        }
    }

    fn union(&mut self, rt: &str, criteria: &[Criterion]) -> String {
        criteria
            .iter()
            .map(|c| self.criterion(rt, c))
            .collect::<Vec<_>>()
            .join(" UNION ")
    }

    fn criterion(&mut self, rt: &str, c: &Criterion) -> String {
        self.criterion_for(rt, c, false)
    }

    /// `correlated`: a check of the candidate `{d}.owner` rather than a set of owners.
    fn criterion_for(&mut self, rt: &str, c: &Criterion, correlated: bool) -> String {
        if let Match::Has {
            source_type,
            reference,
            inner,
        } = &c.matches
        {
            return self.has(rt, source_type, reference, inner, correlated);
        }
        if let Some(sql) = self.on_resource_tables(rt, c, correlated) {
            return sql;
        }
        let rows = self.param_rows(rt, &c.param);
        let tail = match &c.matches {
            Match::Token { system, code } => {
                let code = self.key(code);
                let val = self.eq("val", &code);
                match system {
                    Some(s) => {
                        let s = self.text(s);
                        let sys = self.eq("sys", &s);
                        format!("lo IS NULL AND {val} AND {sys}")
                    }
                    None => format!("lo IS NULL AND {val}"),
                }
            }
            // `sys = '' AND raw <> ''` holds for every string row; it names the SQLite
            // index of string values by parameter, which ranges and patterns need
            Match::String { normalized, mode } => {
                match mode {
                    StringMode::Prefix => {
                        let low = self.text(normalized);
                        let high = self.text(&format!("{normalized}{TEXT_MAX}"));
                        format!(
                            "lo IS NULL AND sys = '' AND raw <> '' AND {}",
                            self.range(&low, &high)
                        )
                    }
                    StringMode::Exact(raw) => {
                        let val = self.text(normalized);
                        let raw = self.text(raw);
                        format!("lo IS NULL AND {} AND raw = {raw}", self.eq("val", &val))
                    }
                    StringMode::Contains => {
                        let escaped = normalized
                            .replace('\\', "\\\\")
                            .replace('%', "\\%")
                            .replace('_', "\\_");
                        let pattern = self.text(&format!("%{escaped}%"));
                        format!("lo IS NULL AND sys = '' AND raw <> '' AND val LIKE {pattern} ESCAPE '\\'")
                    }
                }
            }
            Match::Reference { target_type, id } => {
                let id = self.key(id);
                let val = self.eq("val", &id);
                match target_type {
                    Some(t) => {
                        let t = self.text(t);
                        format!("lo IS NULL AND {val} AND {}", self.eq("sys", &t))
                    }
                    None => format!("lo IS NULL AND {val}"),
                }
            }
            Match::ReferenceText(text) => match parse_reference(text) {
                // an absolute URL that is not ours: a Reference is indexed under its id and
                // compared as written; a canonical is indexed as written
                Some(IndexValue::Reference { target_id, .. }) if !target_id.is_empty() => {
                    let id = self.key(&target_id);
                    let raw = self.text(text);
                    format!(
                        "lo IS NULL AND (({} AND raw = {raw}) OR {})",
                        self.eq("val", &id),
                        self.eq("val", &raw)
                    )
                }
                _ => {
                    let val = self.text(text);
                    format!("lo IS NULL AND {}", self.eq("val", &val))
                }
            },
            Match::Uri(u) => {
                let u = self.text(u);
                format!("lo IS NULL AND {}", self.eq("val", &u))
            }
            Match::Date { prefix, range } => {
                let cond = self.date_between("lo", "hi", *prefix, range.low, range.high);
                format!("lo IS NOT NULL AND {cond}")
            }
            Match::Has { .. } => unreachable!("_has is answered by Builder::has"),
            Match::Chain(branches) => {
                let parts: Vec<String> = branches
                    .iter()
                    .map(|(target, clause)| {
                        let t = self.text(target);
                        let inner = self.matching(target, std::slice::from_ref(clause));
                        let ids = self.ids_of(&inner, &format!("h{}", self.args.len()));
                        format!("({} AND {} IN ({ids}))", self.eq("sys", &t), self.id_key())
                    })
                    .collect();
                format!("lo IS NULL AND ({})", parts.join(" OR "))
            }
        };
        // the tables' statements share the placeholders of one set of arguments
        let owner = self.owner_column();
        if correlated {
            self.over_rows(" UNION ALL ", |table, by_owner| {
                format!(
                    "SELECT 1 FROM {table}{by_owner} WHERE {rows} AND {owner} = {{d}}.owner AND {tail}"
                )
            })
        } else {
            self.over_rows(" UNION ", |table, _| {
                format!("SELECT {owner} AS owner FROM {table} WHERE {rows} AND {tail}")
            })
        }
    }

    /// `_has`: the owners of `rt` that a matching `source_type` points at through
    /// `reference`, looked up on the value index of the pointing resources' rows.
    fn has(
        &mut self,
        rt: &str,
        source_type: &str,
        reference: &str,
        inner: &Clause,
        correlated: bool,
    ) -> String {
        let rows = self.param_rows(source_type, reference);
        let target = self.text(rt);
        let matching = self.matching(source_type, std::slice::from_ref(inner));
        let n = self.args.len();
        let owner = self.owner_column();
        let pointing = |table: &str| {
            format!(
                "{table} WHERE {rows} AND lo IS NULL AND sys = {target} AND {owner} IN (SELECT owner FROM ({matching}) AS h{n})"
            )
        };
        match (self.dialect, correlated) {
            (Dialect::Postgres, true) => self.over_rows(" UNION ALL ", |table, _| {
                format!("SELECT 1 FROM {} AND val = {{d}}.owner", pointing(table))
            }),
            (Dialect::Postgres, false) => self.over_rows(" UNION ", |table, _| {
                format!("SELECT DISTINCT val AS owner FROM {}", pointing(table))
            }),
            // the rows hold the target's id: the candidate's id, or the targets' rks
            (Dialect::Sqlite, true) => self.over_rows(" UNION ALL ", |table, _| {
                format!(
                    "SELECT 1 FROM {} AND val = (SELECT {} FROM resource_current hc WHERE hc.rk = {{d}}.owner)",
                    pointing(table),
                    uuid_value::compact_sql("hc.id")
                )
            }),
            (Dialect::Sqlite, false) => {
                let ids = self.over_rows(" UNION ", |table, _| {
                    format!("SELECT {} FROM {}", uuid_value::text_sql("val"), pointing(table))
                });
                format!(
                    "SELECT hc.rk AS owner FROM resource_current hc WHERE hc.resource_type = {target} AND hc.id IN ({ids})"
                )
            }
        }
    }

    /// R4 §3.1.1.4.2: the resource's [lo, hi] (columns) against the search value's
    /// [low, high].
    fn date_between(
        &mut self,
        lo: &str,
        hi: &str,
        prefix: DatePrefix,
        low: i64,
        high: i64,
    ) -> String {
        let (l, h) = (self.int(low), self.int(high));
        match prefix {
            DatePrefix::Eq => format!("({lo} >= {l} AND {hi} <= {h})"),
            DatePrefix::Ne => format!("NOT ({lo} >= {l} AND {hi} <= {h})"),
            DatePrefix::Gt => format!("{hi} > {h}"),
            DatePrefix::Lt => format!("{lo} < {l}"),
            DatePrefix::Ge => format!("({hi} > {h} OR ({lo} >= {l} AND {hi} <= {h}))"),
            DatePrefix::Le => format!("({lo} < {l} OR ({lo} >= {l} AND {hi} <= {h}))"),
            DatePrefix::Sa => format!("{lo} > {h}"),
            DatePrefix::Eb => format!("{hi} < {l}"),
            DatePrefix::Ap => {
                // approximately: within 10 % of the distance to now, at least a day
                let now = fhir_engine::model::instant::now_millis();
                let slack = ((now - low).abs() / 10).max(DAY_MS);
                let al = self.int(low.saturating_sub(slack));
                let ah = self.int(high.saturating_add(slack));
                format!("({lo} <= {ah} AND {hi} >= {al})")
            }
        }
    }

    fn sort_key(&mut self, q: &SearchQuery) -> String {
        let param = match q.sort {
            SortKey::Id => return "CAST(0 AS BIGINT)".into(),
            SortKey::LastUpdated => "_lastUpdated",
            SortKey::Date => q.sort_param.as_deref().unwrap_or("date"),
        };
        let owner = self.owner_column();
        if param == "_lastUpdated" {
            // on the candidate's current version (a live one: `m` holds only those)
            let rt = self.text(&q.resource_type);
            return format!(
                "(SELECT v.last_updated_ms FROM {} WHERE c.resource_type = {rt} AND c.{owner} = m.owner)",
                self.current_version()
            );
        }
        let rows = self.param_rows(&q.resource_type, param);
        // resources without the value sort last either way
        let (agg, missing) = if q.descending {
            ("MAX(k.hi)", i64::MIN)
        } else {
            ("MIN(k.lo)", i64::MAX)
        };
        let missing = self.int(missing);
        // a resource's rows are in one table: the first with a value is the only one
        let values = self.over_rows(", ", |table, by_owner| {
            format!(
                "(SELECT {agg} FROM {table} k{by_owner} WHERE {rows} AND k.lo IS NOT NULL AND k.{owner} = m.owner)"
            )
        });
        format!("COALESCE({values}, {missing})")
    }

    /// One page of (id, key) in page order; `limit` rows at most.
    pub fn page(&mut self, q: &SearchQuery, limit: usize) -> String {
        let matching = self.matching(&q.resource_type, &q.clauses);
        let key = self.sort_key(q);
        let backward = q.cursor.as_ref().is_some_and(|c| c.backward);
        // ascending in the store when the sort is ascending and we page forward, or both flip
        let ascending = q.descending == backward;
        let (cmp, dir) = if ascending {
            (">", "ASC")
        } else {
            ("<", "DESC")
        };
        let keyset = match &q.cursor {
            Some(c) => {
                let k1 = self.int(c.key);
                let k2 = self.int(c.key);
                let id = self.text(&c.id);
                format!("WHERE (k {cmp} {k1} OR (k = {k2} AND id {cmp} {id}))")
            }
            None => String::new(),
        };
        let limit = self.int(limit as i64);
        let (id, from) = match self.dialect {
            Dialect::Sqlite => (
                "mc.id",
                "m CROSS JOIN resource_current mc ON mc.rk = m.owner",
            ),
            Dialect::Postgres => ("m.owner", "m"),
        };
        format!(
            "WITH m(owner) AS ({matching}) SELECT id, k FROM (SELECT {id} AS id, {key} AS k FROM {from}) AS s {keyset} ORDER BY k {dir}, id {dir} LIMIT {limit}"
        )
    }

    pub fn count(&mut self, q: &SearchQuery) -> String {
        let matching = self.matching(&q.resource_type, &q.clauses);
        format!("WITH m(owner) AS ({matching}) SELECT COUNT(*) FROM m")
    }

    /// Current, live versions of these resources of one type.
    pub fn current_of(&mut self, rt: &str, ids: &[String]) -> String {
        let rt = self.text(rt);
        let list: Vec<String> = ids.iter().map(|id| self.text(id)).collect();
        format!(
            "SELECT c.resource_type, c.id, v.version_id, v.last_updated_ms, v.deleted, {} \
               FROM {} \
              WHERE c.resource_type = {rt} AND c.id IN ({}) AND {}",
            self.body_column(),
            self.current_version(),
            list.join(", "),
            self.not_deleted()
        )
    }

    /// (target type, target id) of a reference parameter of these resources.
    pub fn referenced(
        &mut self,
        source_type: &str,
        param: &str,
        ids: &[String],
        target_type: Option<&str>,
    ) -> String {
        let rows = self.param_rows(source_type, param);
        let list: Vec<String> = ids.iter().map(|id| self.text(id)).collect();
        let list = list.join(", ");
        let owners = match self.dialect {
            Dialect::Sqlite => {
                let rt = self.text(source_type);
                format!(
                    "rk IN (SELECT rk FROM resource_current WHERE resource_type = {rt} AND id IN ({list}))"
                )
            }
            Dialect::Postgres => format!("id IN ({list})"),
        };
        let target = match target_type {
            Some(t) => format!("AND sys = {}", self.text(t)),
            None => "AND sys <> ''".into(),
        };
        let val = match self.dialect {
            Dialect::Sqlite => uuid_value::text_sql("val"),
            Dialect::Postgres => "val".into(),
        };
        self.over_rows(" UNION ", |table, by_owner| {
            format!(
                "SELECT DISTINCT sys, {val} FROM {table}{by_owner} \
                  WHERE {rows} AND lo IS NULL AND {owners} {target}"
            )
        })
    }

    /// (source type, id) of resources whose reference parameter points at these targets.
    pub fn referencing(
        &mut self,
        source_type: &str,
        param: &str,
        target_type: &str,
        target_ids: &[String],
    ) -> String {
        let rows = self.param_rows(source_type, param);
        let target = self.text(target_type);
        let list: Vec<String> = target_ids.iter().map(|id| self.key(id)).collect();
        let (sys, key, list) = (self.eq("sys", &target), self.id_key(), list.join(", "));
        // the owners' type and id: on SQLite from their resource_current row
        let (owner, join) = match self.dialect {
            Dialect::Sqlite => (
                "c.resource_type, c.id",
                " s CROSS JOIN resource_current c ON c.rk = s.rk",
            ),
            Dialect::Postgres => ("resource_type, id", ""),
        };
        self.over_rows(" UNION ", |table, _| {
            format!(
                "SELECT DISTINCT {owner} FROM {table}{join} \
                  WHERE {rows} AND lo IS NULL AND {sys} AND {key} IN ({list})"
            )
        })
    }

    /// Versions newest first, for `_history`.
    pub fn history(&mut self, q: &HistoryQuery) -> String {
        let mut conds = Vec::new();
        match (self.dialect, &q.resource_type, &q.id) {
            // a resource's versions by its key (rk, version_id): with the type named too,
            // SQLite would walk every version of the type along its history index
            (Dialect::Sqlite, Some(rt), Some(id)) => {
                let (rt, id) = (self.text(rt), self.text(id));
                conds.push(format!(
                    "rk = (SELECT rk FROM resource_current WHERE resource_type = {rt} AND id = {id})"
                ));
            }
            _ => {
                if let Some(rt) = &q.resource_type {
                    conds.push(format!("resource_type = {}", self.text(rt)));
                }
                if let Some(id) = &q.id {
                    conds.push(format!("id = {}", self.text(id)));
                }
            }
        }
        if let Some(since) = q.since_ms {
            conds.push(format!("last_updated_ms >= {}", self.int(since)));
        }
        if let Some((lu, rt, id, v)) = &q.after {
            let (lu, rt, id, v) = (
                self.int(*lu),
                self.text(rt),
                self.text(id),
                self.int(*v as i64),
            );
            conds.push(format!(
                "(last_updated_ms, resource_type, id, version_id) < ({lu}, {rt}, {id}, {v})"
            ));
        }
        let filter = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let limit = self.int(q.count as i64);
        let body = match self.dialect {
            Dialect::Sqlite => "body",
            Dialect::Postgres => "body_text",
        };
        format!(
            "SELECT resource_type, id, version_id, last_updated_ms, deleted, {body} FROM resource_version {filter} \
              ORDER BY last_updated_ms DESC, resource_type DESC, id DESC, version_id DESC LIMIT {limit}"
        )
    }
}
