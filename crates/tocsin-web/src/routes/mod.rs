//! One router per resource; [`all`] puts them together.

use axum::Router;

use crate::AppState;

mod agencies;
mod alerts;
mod assets;
mod dashboard;
mod dead_letters;
mod inputs;
mod lookup;
mod rules;
mod system;

pub(crate) use alerts::AlertRow;
pub(crate) use system::not_found;

/// Every route of the console and the API.
pub(crate) fn all() -> Router<AppState> {
    Router::new()
        .merge(dashboard::router())
        .merge(agencies::router())
        .merge(assets::router())
        .merge(alerts::router())
        .merge(inputs::router())
        .merge(dead_letters::router())
        .merge(lookup::router())
        .merge(rules::router())
        .merge(system::router())
}

/// One page of a list: the rows shown, the total, and links to the pages
/// before and after (the same filters, another page number).
pub(crate) struct Paged<R> {
    pub(crate) rows: Vec<R>,
    pub(crate) total: usize,
    pub(crate) prev: Option<String>,
    pub(crate) next: Option<String>,
}

/// Rows per list page.
pub(crate) const PAGE: usize = 50;

impl<R> Paged<R> {
    /// Page `page` of `all`, made into rows; `link(n)` is the URL of page n.
    pub(crate) fn of<T>(
        all: &[T],
        page: usize,
        row: impl FnMut(&T) -> R,
        link: impl Fn(usize) -> String,
    ) -> Self {
        let rows = all.iter().skip(page * PAGE).take(PAGE).map(row).collect();
        Paged {
            rows,
            total: all.len(),
            prev: (page > 0).then(|| link(page - 1)),
            next: ((page + 1) * PAGE < all.len()).then(|| link(page + 1)),
        }
    }
}

/// Matches a folded query against code and name, ignoring case, marks and
/// spaces.
pub(crate) fn matches(q: &str, code: &str, name: &str) -> bool {
    use tocsin_model::fold_vietnamese;
    q.is_empty() || fold_vietnamese(code).contains(q) || fold_vietnamese(name).contains(q)
}

/// (events, unparsed) per input over `counts`, by input name.
pub(crate) fn per_input(
    counts: &[tocsin_model::EventCount],
) -> std::collections::BTreeMap<String, (i64, i64)> {
    let mut by = std::collections::BTreeMap::<String, (i64, i64)>::new();
    for n in counts {
        let e = by.entry(n.input.clone()).or_default();
        e.0 += n.events;
        e.1 += n.errors;
    }
    by
}
