//! The shop's partner referral flow in process: tagging, consent, checkout, attribution.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use consentry::Key;
use consentry_tests::oneshot::send;
use shop::ShopConfig;

fn shop() -> Router {
    shop::app(ShopConfig::new(Key::from_bytes(&[9; 32]).unwrap())).unwrap()
}

/// A tiny cookie jar over `oneshot`.
struct Visitor {
    app: Router,
    host: &'static str,
    jar: Vec<(String, String)>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Visitor {
    fn new(app: &Router, host: &'static str) -> Self {
        Self {
            app: app.clone(),
            host,
            jar: Vec::new(),
        }
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.jar
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&str>) -> Page {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.host);
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        if form.is_some() {
            request = request
                .header(header::ORIGIN, format!("http://{}", self.host))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let body = form.map_or_else(Body::empty, |f| Body::from(f.to_owned()));
        let reply = send(&self.app, request.body(body).unwrap()).await;
        for set in reply.set_cookies() {
            let (pair, _) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.jar.retain(|(n, _)| n != name);
            if !set.contains("Max-Age=0") {
                self.jar.push((name.to_owned(), value.to_owned()));
            }
        }
        Page {
            status: reply.status,
            location: reply.location().map(str::to_owned),
            body: reply.body,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    async fn post(&mut self, path: &str, form: &str) -> Page {
        self.send("POST", path, Some(form)).await
    }
}

fn pending_token(body: &str) -> String {
    let marker = r#"name="referral" value=""#;
    let start = body
        .find(marker)
        .expect("the banner carries the pending referral")
        + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

/// Lands through a partner link, decides, logs in, orders; returns the order page.
async fn referred_order(visitor: &mut Visitor, action: &str) -> Page {
    let landing = visitor.get("/?ref=acme").await;
    assert!(
        landing
            .body
            .contains("You came from <strong>Acme Print Partners</strong>")
    );
    let token = pending_token(&landing.body);
    let decided = visitor
        .post(
            "/consent",
            &format!("action={action}&return_to=%2F&referral={token}"),
        )
        .await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER);
    assert_eq!(
        visitor
            .post("/login", "email=demo%40example.com&password=demo")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        visitor.post("/cart", "sku=FL-A5-1000&qty=2").await.status,
        StatusCode::SEE_OTHER
    );
    let placed = visitor.post("/checkout", "").await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER);
    let location = placed.location.expect("redirect to the order");
    assert!(location.starts_with("/orders/"), "{location}");
    visitor.get(&location).await
}

#[tokio::test]
async fn accepting_after_a_partner_link_attributes_the_order() {
    let app = shop();
    let mut visitor = Visitor::new(&app, "127.0.0.1:3000");
    let order = referred_order(&mut visitor, "accept_all").await;
    assert_eq!(order.status, StatusCode::OK);
    assert!(
        order.body.contains("Referred by Acme Print Partners."),
        "{}",
        order.body
    );
    assert!(
        visitor.cookie("__Host-ref").is_some(),
        "the referral cookie was stored at consent"
    );
    // The report is for administrators only.
    assert_eq!(
        visitor.get("/admin/partners").await.status,
        StatusCode::FORBIDDEN,
        "a customer"
    );
    let mut stranger = Visitor::new(&app, "127.0.0.1:3000");
    let refused = stranger.get("/admin/partners").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "a visitor");
    assert_eq!(refused.location.as_deref(), Some("/login"));
    let mut admin = Visitor::new(&app, "127.0.0.1:3000");
    let login = admin
        .post("/login", "email=admin%40example.com&password=admin")
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let report = admin.get("/admin/partners").await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(
        report.body.contains(
            r#"<tr data-partner="acme"><td>Acme Print Partners</td><td class="orders">1</td>"#
        ),
        "{}",
        report.body
    );
    assert!(report.body.contains(
        r#"<tr data-partner="globex"><td>Globex Resellers</td><td class="orders">0</td>"#
    ));
}

#[tokio::test]
async fn rejecting_stores_no_referral_and_a_later_order_is_not_attributed() {
    let app = shop();
    let mut visitor = Visitor::new(&app, "127.0.0.1:3000");
    // The order placed in the same request chain as the link is not what this checks:
    // the checkout request no longer carries `?ref=`, so only a stored cookie could attribute.
    let order = referred_order(&mut visitor, "reject_all").await;
    assert!(
        visitor.cookie("__Host-ref").is_none(),
        "no referral cookie without marketing consent"
    );
    assert!(
        order.body.contains("No partner referral."),
        "{}",
        order.body
    );
}

#[tokio::test]
async fn the_portal_host_shows_the_partner_and_portal_pricing() {
    let app = shop();
    let mut visitor = Visitor::new(&app, "acme.localhost:3000");
    let catalogue = visitor.get("/").await;
    assert!(
        catalogue
            .body
            .contains("You came from <strong>Acme Print Partners</strong>. Portal pricing applies")
    );
    assert!(catalogue.body.contains("€35.10"), "10% off €39.00");
    visitor.post("/consent", "action=reject_all").await;
    visitor
        .post("/login", "email=demo%40example.com&password=demo")
        .await;
    visitor.post("/cart", "sku=BC-500&qty=1").await;
    let location = visitor.post("/checkout", "").await.location.unwrap();
    let order = visitor.get(&location).await;
    assert!(
        order.body.contains("Referred by Acme Print Partners."),
        "portal orders are the partner's: {}",
        order.body
    );
    assert!(order.body.contains("Portal pricing applied") && order.body.contains("€35.10"));
    assert!(
        visitor.cookie("__Host-ref").is_none(),
        "tagged per request, no cookie without consent"
    );
}

#[tokio::test]
async fn unknown_partner_values_are_ignored_and_not_reflected() {
    let app = shop();
    let mut visitor = Visitor::new(&app, "127.0.0.1:3000");
    let page = visitor
        .get("/?ref=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("alert(1)"));
    assert!(!page.body.contains("You came from"));
    assert!(!page.body.contains(r#"name="referral""#));
}

#[tokio::test]
async fn orders_are_private_to_their_customer() {
    let app = shop();
    let mut customer = Visitor::new(&app, "127.0.0.1:3000");
    let order = referred_order(&mut customer, "accept_all").await;
    assert_eq!(order.status, StatusCode::OK);
    let mut stranger = Visitor::new(&app, "127.0.0.1:3000");
    assert_eq!(
        stranger.get("/orders/1001").await.location.as_deref(),
        Some("/login")
    );
    assert_eq!(
        customer.get("/orders/9999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        customer.get("/orders/abc").await.status,
        StatusCode::NOT_FOUND
    );
    customer.post("/cart", "sku=BC-500&qty=1").await;
    customer.post("/logout", "").await;
    assert_eq!(
        customer.post("/checkout", "").await.location.as_deref(),
        Some("/login")
    );
}
