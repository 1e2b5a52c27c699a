//! Nothing is open: every route of the router decides who may use it, an
//! agency contact of one agency reaches nothing of another (in pages and in
//! the API, by guessing ids too), anonymous callers get only the sign-in
//! page, `/healthz` and static files; sign-in, lockout, sessions, CSRF,
//! Host, tokens and headers behave as docs/security.md says.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use tocsin_model::{Actor, Level, NewAlert, Permission, Role};
use tocsin_web::{Need, RouteInfo, Web};
use tower::ServiceExt;

mod common;

const HOST: &str = "127.0.0.1:8080";
const A_SECRET: &str = "0000000000000000000000000000000000000000000000000000000000000a0a";
const LEADER_SECRET: &str = "00000000000000000000000000000000000000000000000000000000000001ea";

/// Agency A (the Department of Health) and agency B (Finance).
const A: &str = "SYT";
const B: &str = "STC";

fn alert(agency: &str, title: &str) -> NewAlert {
    let now = chrono::Utc::now();
    NewAlert {
        event_time: now,
        received_at: now,
        rule_id: format!("r-{agency}"),
        rule_title: title.into(),
        level: Level::High,
        kind: tocsin_model::AlertKind::Rule,
        class: Default::default(),
        technique: None,
        entity: None,
        agency: Some(agency.into()),
        asset: None,
        source_ip: Some("45.155.205.233".parse().unwrap()),
        host: Some(format!("{}.ngocson.gov.vn", agency.to_lowercase())),
        input: "syslog-tcp".into(),
        stream_seq: 1,
        archive: None,
        summary: format!("secret of {agency}"),
        tags: vec![],
        event: format!(r#"{{"fields":{{"owner":"{agency}"}}}}"#),
        intel: None,
    }
}

/// A PC of `agency` calling a botnet controller of `family`.
fn sighting(agency: &str, family: &str) -> tocsin_model::Sighting {
    tocsin_model::Sighting {
        hit: tocsin_model::IntelHit {
            indicator: "192.0.2.7".into(),
            kind: tocsin_model::IndicatorKind::Ip,
            source: "feodo".into(),
            threat: tocsin_model::Threat::BotnetCc,
            family: Some(family.into()),
            confidence: 90,
            field: "destination.ip".into(),
            device: tocsin_model::Device::new(
                Some(format!("10.9.9.{}", agency.len()).parse().unwrap()),
                Some(&format!("pc-{agency}")),
                None,
            ),
        },
        at: chrono::Utc::now(),
        agency: Some(agency.into()),
        asset: None,
        late: false,
    }
}

struct World {
    app: axum::Router,
    store: tocsin_store::Store,
    /// The id of agency B's alert.
    b_alert: i64,
    /// The id of agency B's infected device.
    b_device: i64,
    /// An asset of agency B and an address in B's range.
    b_asset: String,
    b_ip: String,
    /// CSRF tokens of the contact of A and the admin.
    a_csrf: String,
    admin_csrf: String,
}

async fn world() -> World {
    world_with(common::web_config()).await
}

async fn world_with(cfg: tocsin_web::WebConfig) -> World {
    let store = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    let inv = tocsin_sim::province();
    store
        .replace_inventory(&inv, &Actor::system("test"), "demo")
        .await
        .unwrap();
    store
        .commit_ingest_batch(&tocsin_store::IngestBatch {
            fold_secs: 0,
            sightings: vec![sighting(A, "Family of A"), sighting(B, "secret of STC")],
            stream: "events".into(),
            position: 2,
            alerts: vec![alert(A, "Alert of A"), alert(B, "Alert of B")],
            counts: vec![],
        })
        .await
        .unwrap();
    let all = store
        .alerts(&tocsin_model::Scope::All, &Default::default())
        .await
        .unwrap();
    let b_alert = all
        .iter()
        .find(|a| a.body.agency.as_ref().map(|c| c.as_str()) == Some(B))
        .unwrap()
        .id
        .0;
    let b_device = store
        .infected_devices(&tocsin_model::Scope::All, &Default::default())
        .await
        .unwrap()
        .iter()
        .find(|d| d.agency.as_str() == B)
        .unwrap()
        .id;
    let b_asset = inv
        .assets
        .iter()
        .find(|a| a.owner.as_str() == B)
        .map(|a| a.code.as_str().to_string())
        .unwrap_or_else(|| "NONE".into());
    let b_ip = inv
        .agencies
        .iter()
        .find(|a| a.code.as_str() == B)
        .map(|a| a.ranges[0].to_string())
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .trim_end_matches('0')
        .to_string()
        + "9";
    let admin_csrf = common::sign_in_admin(&store).await;
    let a_csrf = common::sign_in(&store, "yte", Role::AgencyContact, Some(A), A_SECRET).await;
    common::sign_in(&store, "lanhdao", Role::Leader, None, LEADER_SECRET).await;
    let app = cfg.build(store.clone()).await.unwrap().router();
    World {
        app,
        store,
        b_alert,
        b_device,
        b_asset,
        b_ip,
        a_csrf,
        admin_csrf,
    }
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(app: &axum::Router, req: Request<Body>) -> Resp {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = to_bytes(r.into_body(), 64 << 20).await.unwrap();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn cookie(secret: &str) -> String {
    format!("tocsin_session={secret}")
}

/// A request as a browser on this console's own page sends it.
fn req(method: &str, uri: &str, session: Option<&str>, form: Option<String>) -> Request<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("http://{HOST}"));
    if let Some(s) = session {
        r = r.header(header::COOKIE, cookie(s));
    }
    match form {
        Some(f) => r
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(f))
            .unwrap(),
        None => r.body(Body::empty()).unwrap(),
    }
}

/// A concrete path for a route pattern, naming agency B's objects.
fn concrete(route: &RouteInfo, w: &World) -> String {
    let id = if route.path.contains("/intel/devices/") {
        w.b_device
    } else {
        w.b_alert
    };
    route
        .path
        .replace("{id}", &id.to_string())
        .replace("{code}", B)
        .replace("{ip}", &w.b_ip)
        .replace("{file}", "tocsin.css")
}

fn asset_path(route: &RouteInfo, w: &World) -> String {
    if route.path.contains("/assets/") {
        route.path.replace("{code}", &w.b_asset)
    } else {
        concrete(route, w)
    }
}

#[test]
fn every_route_states_its_need_and_only_sign_in_setup_health_and_static_are_open() {
    let table = Web::route_table();
    assert!(table.len() >= 40, "{} routes", table.len());
    let open: Vec<&str> = table
        .iter()
        .filter(|r| r.need == Need::Anyone)
        .map(|r| r.path)
        .collect();
    for p in &open {
        assert!(
            ["/login", "/setup", "/healthz", "/static/{file}"].contains(p),
            "{p} is open to anyone"
        );
    }
    // Nothing is declared twice (a second declaration would hide a need).
    let mut seen = std::collections::BTreeSet::new();
    for r in &table {
        assert!(
            seen.insert((r.method, r.path)),
            "{} {} twice",
            r.method,
            r.path
        );
    }
}

#[tokio::test]
async fn anonymous_callers_reach_only_what_is_open() {
    let w = world().await;
    let login = send(&w.app, req("GET", "/login", None, None)).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(
        login.body.contains("id=\"login-form\"") && !login.body.contains("href=\"/alerts\""),
        "the sign-in page, without links nobody may follow"
    );
    for r in Web::route_table() {
        let path = asset_path(&r, &w);
        let form = (r.method == "POST").then(|| "status=closed&x=1".to_string());
        let resp = send(&w.app, req(r.method, &path, None, form)).await;
        match r.need {
            Need::Anyone => assert!(
                !matches!(
                    resp.status,
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                ),
                "{} {path}: {}",
                r.method,
                resp.status
            ),
            _ => {
                let page_redirect = r.method == "GET"
                    && !path.starts_with("/api/")
                    && path != "/metrics"
                    && resp.status == StatusCode::SEE_OTHER
                    && resp.headers[header::LOCATION]
                        .to_str()
                        .unwrap()
                        .starts_with("/login?next=");
                assert!(
                    page_redirect || resp.status == StatusCode::UNAUTHORIZED,
                    "{} {path} answered {} to nobody",
                    r.method,
                    resp.status
                );
                assert!(!resp.body.contains("secret of"), "{path} leaked");
            }
        }
    }
}

#[tokio::test]
async fn an_agency_contact_reaches_nothing_of_another_agency_by_any_route() {
    let w = world().await;
    for r in Web::route_table() {
        // Signing out is tested on its own (it would end this session).
        if r.need == Need::Anyone || r.path == "/logout" {
            continue;
        }
        let path = asset_path(&r, &w);
        let form = (r.method == "POST").then(|| {
            format!(
                "_csrf={}&status=closed&password=x&name=t&role=agency_contact&username=u&current=x&secret=00&code=1",
                w.a_csrf
            )
        });
        let resp = send(&w.app, req(r.method, &path, Some(A_SECRET), form)).await;
        let may = match r.need {
            Need::Signed(p) => Role::AgencyContact.may(p),
            Need::Metrics => false,
            Need::Anyone => true,
        };
        if !may {
            assert_eq!(
                resp.status,
                StatusCode::FORBIDDEN,
                "{} {path}: a contact lacks {:?}",
                r.method,
                r.need
            );
            continue;
        }
        // Allowed routes: nothing of B, whatever the id.
        assert!(
            !resp.body.contains("secret of STC") && !resp.body.contains("Alert of B"),
            "{} {path} showed B's alert to A's contact",
            r.method
        );
        if r.path.contains('{') && !r.path.starts_with("/account") {
            assert!(
                matches!(resp.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)
                    || resp.body.contains("\"agency\":null")
                    || !resp.body.contains(B),
                "{} {path} answered {} with B's data",
                r.method,
                resp.status
            );
        }
    }
    // B's alert is untouched.
    let b = w
        .store
        .alerts(&tocsin_model::Scope::All, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.id.0 == w.b_alert)
        .unwrap();
    assert_eq!(b.status, tocsin_model::AlertStatus::New);
    // So is B's infected device, and B's figures are not A's.
    let d = w
        .store
        .infected_device(&tocsin_model::Scope::All, w.b_device)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, tocsin_model::DeviceStatus::Open);
    let mine = send(
        &w.app,
        req("GET", "/api/v1/intel/counts", Some(A_SECRET), None),
    )
    .await;
    assert!(
        mine.body.contains(A) && !mine.body.contains(B),
        "{}",
        mine.body
    );
    // A's own alert is visible to them.
    let mine = send(&w.app, req("GET", "/api/v1/alerts", Some(A_SECRET), None)).await;
    assert!(mine.body.contains("Alert of A") && !mine.body.contains("Alert of B"));
}

#[tokio::test]
async fn roles_get_what_their_permissions_say() {
    let w = world().await;
    let leader = LEADER_SECRET;
    for (path, admin, leader_ok) in [
        ("/users", true, false),
        ("/audit", true, false),
        ("/inputs", true, false),
        ("/alerts", true, true),
        ("/", true, true),
    ] {
        let a = send(&w.app, req("GET", path, Some(common::ADMIN_SECRET), None)).await;
        assert_eq!(
            a.status == StatusCode::OK,
            admin,
            "admin {path}: {}",
            a.status
        );
        let l = send(&w.app, req("GET", path, Some(leader), None)).await;
        assert_eq!(
            l.status == StatusCode::OK,
            leader_ok,
            "leader {path}: {}",
            l.status
        );
    }
    // The leader reads but cannot close.
    let r = send(
        &w.app,
        req(
            "POST",
            &format!("/alerts/{}/status", w.b_alert),
            Some(leader),
            Some("status=closed".into()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(Role::Leader.may(Permission::Read));
}

#[tokio::test]
async fn a_post_without_its_csrf_token_or_from_another_site_is_refused() {
    let w = world().await;
    let path = format!("/alerts/{}/status", w.b_alert);
    let no_token = send(
        &w.app,
        req(
            "POST",
            &path,
            Some(common::ADMIN_SECRET),
            Some("status=closed".into()),
        ),
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let wrong = send(
        &w.app,
        req(
            "POST",
            &path,
            Some(common::ADMIN_SECRET),
            Some(format!("status=closed&_csrf={}", w.a_csrf)),
        ),
    )
    .await;
    assert_eq!(
        wrong.status,
        StatusCode::FORBIDDEN,
        "another session's token"
    );
    let mut cross = req(
        "POST",
        &path,
        Some(common::ADMIN_SECRET),
        Some(format!("status=closed&_csrf={}", w.admin_csrf)),
    );
    cross
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    assert_eq!(send(&w.app, cross).await.status, StatusCode::FORBIDDEN);
    let ok = send(
        &w.app,
        req(
            "POST",
            &path,
            Some(common::ADMIN_SECRET),
            Some(format!("status=closed&_csrf={}", w.admin_csrf)),
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    // The change is audited with the actor, before and after.
    let log = w.store.audit_log(5).await.unwrap();
    let e = log.iter().find(|e| e.action == "alert.status").unwrap();
    assert_eq!(e.actor, "quantri");
    assert_eq!(e.before.as_deref(), Some("new"));
    assert_eq!(e.after.as_deref(), Some("closed"));
    assert!(w.store.verify_audit().await.unwrap().ok());
}

#[tokio::test]
async fn pages_carry_security_headers_and_forms_their_token() {
    let w = world().await;
    let r = send(
        &w.app,
        req(
            "GET",
            &format!("/alerts/{}", w.b_alert),
            Some(common::ADMIN_SECRET),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        r.body
            .contains(&format!("name=\"_csrf\" value=\"{}\"", w.admin_csrf))
    );
    assert!(!r.body.contains("<!--csrf-->") && r.body.contains("id=\"sign-out\""));
    assert!(
        !r.body.contains("<script>") && !r.body.contains("style=\""),
        "no inline script or style"
    );
}

#[tokio::test]
async fn an_unknown_host_is_refused_against_dns_rebinding() {
    let w = world().await;
    let mut r = req("GET", "/login", None, None);
    r.headers_mut()
        .insert(header::HOST, "attacker.example:8080".parse().unwrap());
    assert_eq!(
        send(&w.app, r).await.status,
        StatusCode::MISDIRECTED_REQUEST
    );
    assert_eq!(
        send(&w.app, req("GET", "/healthz", None, None))
            .await
            .status,
        StatusCode::OK
    );
}

async fn login(app: &axum::Router, user: &str, password: &str) -> Resp {
    let form = format!("username={user}&password={}&next=/alerts", urlenc(password));
    send(app, req("POST", "/login", None, Some(form))).await
}

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn sign_in_rotates_the_session_and_answers_alike_for_unknown_users_and_wrong_passwords() {
    let w = world().await;
    let good = login(&w.app, "yte", "đồi thông hai mộ 1975").await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    assert_eq!(good.headers[header::LOCATION], "/alerts");
    let set = good.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let new_id = set
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("tocsin_session=")
        .unwrap()
        .to_string();
    assert_ne!(new_id, A_SECRET, "a new id at sign-in");
    let me = send(&w.app, req("GET", "/api/v1/me", Some(&new_id), None)).await;
    assert!(me.body.contains("agency_contact"), "{}", me.body);

    let wrong = login(&w.app, "yte", "not the password at all").await;
    let unknown = login(&w.app, "nobody-here", "not the password at all").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let strip = |s: &str| s.replace("nobody-here", "yte");
    assert_eq!(strip(&unknown.body), wrong.body, "the same page for both");
    let log = w.store.audit_log(10).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "session.sign_in_failed" && e.object == "user nobody-here")
    );

    // Sign-out ends the session.
    let out = send(
        &w.app,
        req("POST", "/logout", Some(&new_id), Some(String::new())),
    )
    .await;
    assert_eq!(
        out.status,
        StatusCode::FORBIDDEN,
        "sign-out needs the CSRF token too"
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let w = world().await;
    for _ in 0..5 {
        assert_eq!(
            login(&w.app, "yte", "wrong password again").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = login(&w.app, "yte", "đồi thông hai mộ 1975").await;
    assert_eq!(
        locked.status,
        StatusCode::UNAUTHORIZED,
        "locked for lock_minutes"
    );
    let users = w.store.users().await.unwrap();
    let yte = users.iter().find(|u| u.username == "yte").unwrap();
    assert!(yte.locked_until.is_some());
    let last = &w.store.audit_log(1).await.unwrap()[0];
    assert_eq!(
        (last.action.as_str(), last.detail.as_str()),
        ("session.sign_in_failed", "account disabled or locked")
    );
}

#[tokio::test]
async fn one_address_is_throttled_after_its_failures() {
    let mut cfg = common::web_config();
    cfg.auth.per_address.max_failures = 3;
    let w = world_with(cfg).await;
    for u in ["a1", "a2", "a3"] {
        assert_eq!(
            login(&w.app, u, "whatever it is").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = login(&w.app, "yte", "đồi thông hai mộ 1975").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_idle_session_ends() {
    let mut cfg = common::web_config();
    cfg.auth.idle_minutes = 0;
    let w = world_with(cfg).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let r = send(
        &w.app,
        req("GET", "/alerts", Some(common::ADMIN_SECRET), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "back to the sign-in page");
}

#[tokio::test]
async fn api_tokens_carry_their_role_and_scope_and_stop_when_revoked() {
    let w = world().await;
    let users = w.store.users().await.unwrap();
    let yte = users.iter().find(|u| u.username == "yte").unwrap();
    let secret = tocsin_access::Secret::new();
    let id = w
        .store
        .create_token(
            &Actor::system("test"),
            yte.id,
            "script",
            &secret.digest(),
            Role::AgencyContact,
            yte.agency.as_ref(),
            None,
        )
        .await
        .unwrap();
    let text = tocsin_access::ApiToken { id, secret }.text();
    let bearer = |t: &str| {
        Request::get("/api/v1/alerts")
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    let r = send(&w.app, bearer(&text)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Alert of A") && !r.body.contains("Alert of B"));
    // A forged secret for the same id.
    let forged = format!("tcs_{id}_{}", "f".repeat(64));
    assert_eq!(
        send(&w.app, bearer(&forged)).await.status,
        StatusCode::UNAUTHORIZED
    );
    w.store
        .revoke_token(&Actor::system("test"), id, None)
        .await
        .unwrap();
    assert_eq!(
        send(&w.app, bearer(&text)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn metrics_need_staff_or_the_metrics_token() {
    let mut cfg = common::web_config();
    cfg.auth.metrics_token = Some(tocsin_model::Secret::new("prometheus-scrape-token-1"));
    let w = world_with(cfg).await;
    let anon = send(&w.app, req("GET", "/metrics", None, None)).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let with = Request::get("/metrics")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, "Bearer prometheus-scrape-token-1")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&w.app, with).await.status, StatusCode::OK);
    let contact = send(&w.app, req("GET", "/metrics", Some(A_SECRET), None)).await;
    assert_eq!(contact.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_first_administrator_is_made_with_the_setup_token_only() {
    let store = tocsin_store::StoreConfig::new("sqlite::memory:")
        .build()
        .await
        .unwrap();
    let web = common::web_config().build(store.clone()).await.unwrap();
    let token = web.setup_token().unwrap();
    let app = web.router();
    let login_page = send(&app, req("GET", "/login", None, None)).await;
    assert_eq!(login_page.headers[header::LOCATION], "/setup");
    let bad = send(
        &app,
        req(
            "POST",
            "/setup",
            None,
            Some("token=nope&username=quantri&display_name=Q&password=%C4%91%E1%BB%93i+th%C3%B4ng+hai+m%E1%BB%99+1975".into()),
        ),
    )
    .await;
    assert!(bad.body.contains("setup-error"));
    assert_eq!(store.user_count().await.unwrap(), 0);
    let ok = send(
        &app,
        req(
            "POST",
            "/setup",
            None,
            Some(format!("token={token}&username=quantri&display_name=Q&password=%C4%91%E1%BB%93i+th%C3%B4ng+hai+m%E1%BB%99+1975")),
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(store.user_count().await.unwrap(), 1);
    // Once used, setup is gone.
    let again = send(&app, req("GET", "/setup", None, None)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_language_switch_keeps_the_page_and_its_filters() {
    let w = world().await;
    let r = send(
        &w.app,
        req(
            "GET",
            "/alerts?level=high&status=new",
            Some(common::ADMIN_SECRET),
            None,
        ),
    )
    .await;
    assert!(
        r.body
            .contains(r#"id="lang-switch" href="?level=high&amp;status=new&amp;lang=en""#),
        "{}",
        r.body
    );
    let plain = send(
        &w.app,
        req("GET", "/alerts", Some(common::ADMIN_SECRET), None),
    )
    .await;
    assert!(plain.body.contains(r#"id="lang-switch" href="?lang=en""#));
    // The signed-in bar speaks the page's language.
    assert!(plain.body.contains("Đăng xuất") && plain.body.contains("Quản trị hệ thống"));
    let en = send(
        &w.app,
        req("GET", "/alerts?lang=en", Some(common::ADMIN_SECRET), None),
    )
    .await;
    assert!(
        en.body.contains(">Sign out<") && en.body.contains("Administrator"),
        "{}",
        en.body
    );
}
