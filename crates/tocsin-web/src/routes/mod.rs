//! One router per resource; [`all`] puts them together.

use axum::Router;
use axum::handler::Handler;
use axum::routing::MethodRouter;

use crate::AppState;
pub use crate::access::Need;

mod account;
mod agencies;
mod alerts;
mod assets;
mod audit;
mod dashboard;
mod dead_letters;
mod inputs;
mod intel;
mod lookup;
mod rules;
mod session;
mod system;
mod users;

pub(crate) use alerts::AlertRow;
pub(crate) use system::not_found;

/// Every route of the console and the API, each with what it needs.
pub(crate) fn all() -> Routes {
    Routes::new()
        .merge(session::routes())
        .merge(dashboard::router())
        .merge(agencies::router())
        .merge(assets::router())
        .merge(alerts::router())
        .merge(intel::router())
        .merge(inputs::router())
        .merge(dead_letters::router())
        .merge(lookup::router())
        .merge(rules::router())
        .merge(users::routes())
        .merge(account::routes())
        .merge(audit::routes())
        .merge(system::router())
}

/// One route as the access test reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path pattern (`/alerts/{id}`).
    pub path: &'static str,
    /// What a caller needs.
    pub need: Need,
}

/// A router whose every route states what it needs: the only way a
/// resource adds a route, so a route without an access decision cannot be
/// written, and the table of them is what the access test walks.
pub(crate) struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

impl Routes {
    pub(crate) fn new() -> Self {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    /// A GET route.
    pub(crate) fn get<H, T>(self, path: &'static str, need: Need, h: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("GET", path, need, axum::routing::get(h))
    }

    /// A POST route.
    pub(crate) fn post<H, T>(self, path: &'static str, need: Need, h: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("POST", path, need, axum::routing::post(h))
    }

    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        need: Need,
        mr: MethodRouter<AppState>,
    ) -> Self {
        self.table.push(RouteInfo { method, path, need });
        let mr = mr.route_layer(axum::middleware::from_fn(move |req, next| {
            crate::access::require(need, req, next)
        }));
        self.router = self.router.route(path, mr);
        self
    }

    pub(crate) fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    pub(crate) fn into_parts(self) -> (Router<AppState>, Vec<RouteInfo>) {
        (self.router, self.table)
    }
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
