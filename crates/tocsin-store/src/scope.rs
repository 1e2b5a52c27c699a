//! The one place a caller's [`Scope`] becomes SQL. Every query over
//! agency-owned data takes a scope and adds this condition, so tenant
//! isolation is decided here and nowhere else.
//!
//! The agencies are bound as parameters, never spliced into the SQL text:
//! only the placeholders (`$6, $7…`) are formatted in. A query uses the
//! two functions as a pair:
//!
//! ```text
//! sql = format!("… WHERE id = $1 AND {}", clause(scope, "agency", 2))
//! q   = query(sql).bind(id)      // $1: the query's own parameters first
//! q   = bind(q, scope)           // $2…: the scope's, last
//! ```

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use tocsin_model::Scope;

/// A condition on `column` for `scope`, numbering its parameters from
/// `first` (`$first`, `$first+1`…): `TRUE` for the whole province, else
/// `column IN (…)` — which never holds for unattributed rows (NULL or the
/// empty code). A scope of no agencies is `FALSE`, not an empty `IN ()`,
/// which is a syntax error.
///
/// `first` must be one more than the number of parameters the query binds
/// before the scope's.
pub(crate) fn clause(scope: &Scope, column: &str, first: usize) -> String {
    match scope.agencies() {
        None => "TRUE".to_string(),
        Some(set) if set.is_empty() => "FALSE".to_string(),
        Some(set) => {
            let params: Vec<String> = (first..first + set.len())
                .map(|i| format!("${i}"))
                .collect();
            format!("{column} IN ({})", params.join(", "))
        }
    }
}

/// Binds the parameters [`clause`] named, in the same order.
///
/// sqlx binds by position, so this comes after every other `bind` of the
/// query. Binds nothing for the whole province.
pub(crate) fn bind<'q>(
    mut q: Query<'q, Any, AnyArguments>,
    scope: &'q Scope,
) -> Query<'q, Any, AnyArguments> {
    if let Some(set) = scope.agencies() {
        for a in set.iter() {
            q = q.bind(a.as_str());
        }
    }
    q
}
