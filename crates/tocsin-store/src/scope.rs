//! The one place a caller's [`Scope`] becomes SQL. Every query over
//! agency-owned data takes a scope and adds this condition, so tenant
//! isolation is decided here and nowhere else.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use tocsin_model::Scope;

/// A condition on `column` for `scope`, numbering its parameters from
/// `first` (`$first`, `$first+1`…): `TRUE` for the whole province, else
/// `column IN (…)` — which never holds for unattributed rows (NULL or the
/// empty code).
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
