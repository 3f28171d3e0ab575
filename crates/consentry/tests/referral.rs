//! Partner referral end to end through `consentry::testing::Client`.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use consentry::ledger::MemoryLedger;
use consentry::store::MemoryStore;
use consentry::testing::{Client, TestResponse};
use consentry::{
    Category, ConsentConfig, Consentry, ConsentryLayer, Key, Keyring, ManualClock, Page, Partner,
    Policy, Referral, ReferralConfig, SessionConfig,
};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use tower::{Layer, service_fn};

/// Echoes the referral it sees, and shows the banner.
async fn app(request: Request<Full<Bytes>>) -> Result<Response<String>, Infallible> {
    let referral = request.extensions().get::<Referral>().cloned();
    let page = request.extensions().get::<Page>().cloned().unwrap();
    let seen = referral.map_or_else(
        || "none".to_owned(),
        |r| format!("{}:{:?}", r.partner_id(), r.via()),
    );
    Ok(Response::new(format!(
        "referral={seen}\n{}",
        page.banner_html()
    )))
}

fn layer_with(clock: &ManualClock, config: ReferralConfig) -> ConsentryLayer {
    Consentry::builder(Keyring::new(1, Key::from_bytes(&[6; 32]).unwrap()))
        .session(SessionConfig::new(MemoryStore::new()))
        .consent(ConsentConfig::new(Policy::new(1)).ledger(MemoryLedger::new()))
        .referral(config)
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn partners() -> ReferralConfig {
    ReferralConfig::new()
        .partner(Partner::new("acme", "Acme Print Partners").portal_host("acme.localhost"))
        .partner(Partner::new("globex", "Globex Resellers"))
        .partner(
            Partner::new("initech", "Initech Portal")
                .portal_host("initech.localhost")
                .category(Category::NECESSARY),
        )
}

/// What the tests read from a response, beyond the client's helpers.
trait ReplyExt {
    /// The value set (not expired) for cookie `name`, as `name=value`.
    fn cookie(&self, name: &str) -> Option<String>;
    /// Whether the response expires cookie `name`.
    fn expires(&self, name: &str) -> bool;
    /// The pending referral token in the banner's form.
    fn referral_token(&self) -> Option<String>;
}

impl ReplyExt for TestResponse {
    fn cookie(&self, name: &str) -> Option<String> {
        self.new_cookie(name).map(|value| format!("{name}={value}"))
    }

    fn expires(&self, name: &str) -> bool {
        self.expires_cookie(name)
    }

    fn referral_token(&self) -> Option<String> {
        let body = self.text();
        let start = body.find(r#"name="referral" value=""#)? + r#"name="referral" value=""#.len();
        Some(body[start..].split('"').next()?.to_owned())
    }
}

async fn send(
    layer: &ConsentryLayer,
    method: Method,
    uri: &str,
    host: &str,
    cookies: &[&str],
    form: Option<&str>,
) -> TestResponse {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, host);
    if !cookies.is_empty() {
        builder = builder.header(header::COOKIE, cookies.join("; "));
    }
    let body = match form {
        Some(form) => {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Full::from(form.to_owned())
        }
        None => Full::default(),
    };
    Client::new(layer.layer(service_fn(app)))
        .send(builder.body(body).unwrap())
        .await
}

async fn get(layer: &ConsentryLayer, uri: &str, cookies: &[&str]) -> TestResponse {
    send(layer, Method::GET, uri, "shop.test", cookies, None).await
}

async fn consent(layer: &ConsentryLayer, form: &str, cookies: &[&str]) -> TestResponse {
    send(
        layer,
        Method::POST,
        "/consent",
        "shop.test",
        cookies,
        Some(form),
    )
    .await
}

#[tokio::test]
async fn a_partner_link_sets_the_cookie_only_when_marketing_is_granted() {
    let clock = ManualClock::new(1_800_000_000);
    let layer = layer_with(&clock, partners());
    let undecided = get(&layer, "/?ref=acme", &[]).await;
    assert!(
        undecided.text().starts_with("referral=acme:Link"),
        "the referral applies to the request"
    );
    assert!(
        undecided.cookie("__Host-ref").is_none(),
        "no referral cookie before consent"
    );

    let accepted = consent(&layer, "action=accept_all", &[])
        .await
        .cookie("__Host-consent")
        .unwrap();
    let tagged = get(&layer, "/?ref=acme", &[&accepted]).await;
    let cookie = tagged
        .cookie("__Host-ref")
        .expect("cookie once marketing is granted");
    let set = tagged
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-ref="))
        .unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    let next_visit = get(&layer, "/catalogue", &[&accepted, &cookie]).await;
    assert_eq!(
        next_visit.text().lines().next(),
        Some("referral=acme:Cookie")
    );

    let rejected = consent(&layer, "action=reject_all", &[])
        .await
        .cookie("__Host-consent")
        .unwrap();
    assert!(
        get(&layer, "/?ref=acme", &[&rejected])
            .await
            .cookie("__Host-ref")
            .is_none()
    );
    // Withdrawing marketing deletes the stored referral.
    assert!(
        get(&layer, "/", &[&rejected, &cookie])
            .await
            .expires("__Host-ref")
    );
}

#[tokio::test]
async fn unknown_partners_are_ignored_and_never_reflected() {
    let clock = ManualClock::new(1_800_000_000);
    let layer = layer_with(&clock, partners());
    let accepted = consent(&layer, "action=accept_all", &[])
        .await
        .cookie("__Host-consent")
        .unwrap();
    for value in [
        "no-such-partner",
        "ACME",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "acme%00",
        "a".repeat(100).as_str(),
    ] {
        let reply = get(&layer, &format!("/?ref={value}"), &[&accepted]).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.text().starts_with("referral=none"), "{value}");
        assert!(reply.cookie("__Host-ref").is_none(), "{value}");
        assert!(
            !reply.text().contains("script>alert") && !reply.text().contains("no-such-partner"),
            "{value} reflected"
        );
        let headers = format!("{:?}", reply.headers);
        assert!(
            !headers.contains("nobody") && !headers.contains("alert"),
            "{value} reflected in headers"
        );
    }
}

#[tokio::test]
async fn a_pending_referral_travels_through_the_consent_form() {
    let clock = ManualClock::new(1_800_000_000);
    let layer = layer_with(&clock, partners());
    let landing = get(&layer, "/?ref=globex", &[]).await;
    let token = landing
        .referral_token()
        .expect("the banner carries the pending referral");
    assert!(landing.cookie("__Host-ref").is_none());

    let accept = consent(&layer, &format!("action=accept_all&referral={token}"), &[]).await;
    let cookie = accept
        .cookie("__Host-ref")
        .expect("stored at the moment of consent");
    let consent_cookie = accept.cookie("__Host-consent").unwrap();
    let after = get(&layer, "/", &[&consent_cookie, &cookie]).await;
    assert_eq!(after.text().lines().next(), Some("referral=globex:Cookie"));

    let reject = consent(&layer, &format!("action=reject_all&referral={token}"), &[]).await;
    assert!(
        reject.cookie("__Host-ref").is_none(),
        "rejecting marketing stores nothing"
    );
    let forged = consent(&layer, "action=accept_all&referral=AAAA", &[]).await;
    assert!(
        forged.cookie("__Host-ref").is_none(),
        "a forged token is ignored"
    );
    assert_eq!(
        forged.status,
        StatusCode::SEE_OTHER,
        "and the decision still goes through"
    );

    // JSON (the banner's path) carries it too.
    let json = send(&layer, Method::POST, "/consent", "shop.test", &[], None).await;
    assert_eq!(json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut request = Request::post("/consent")
        .header(header::HOST, "shop.test")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::from(format!(
            r#"{{"granted":["marketing"],"referral":"{token}"}}"#
        )))
        .unwrap();
    request
        .headers_mut()
        .insert(header::ORIGIN, "https://shop.test".parse().unwrap());
    let response = Client::new(layer.layer(service_fn(app)))
        .send(request)
        .await;
    assert!(response.new_cookie("__Host-ref").is_some());
}

#[tokio::test]
async fn the_attribution_window_ends_a_referral() {
    let clock = ManualClock::new(1_800_000_000);
    let layer = layer_with(&clock, partners().window(Duration::from_secs(7 * 86_400)));
    let accepted = consent(&layer, "action=accept_all", &[])
        .await
        .cookie("__Host-consent")
        .unwrap();
    let cookie = get(&layer, "/?ref=acme", &[&accepted])
        .await
        .cookie("__Host-ref")
        .unwrap();
    clock.advance(Duration::from_secs(7 * 86_400 - 1));
    assert_eq!(
        get(&layer, "/", &[&accepted, &cookie])
            .await
            .text()
            .lines()
            .next(),
        Some("referral=acme:Cookie")
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        get(&layer, "/", &[&accepted, &cookie])
            .await
            .text()
            .lines()
            .next(),
        Some("referral=none")
    );
}

#[tokio::test]
async fn first_and_last_touch_attribute_differently() {
    for (model, expected) in [
        (consentry::Attribution::FirstTouch, "acme"),
        (consentry::Attribution::LastTouch, "globex"),
    ] {
        let clock = ManualClock::new(1_800_000_000);
        let layer = layer_with(&clock, partners().attribution(model));
        let accepted = consent(&layer, "action=accept_all", &[])
            .await
            .cookie("__Host-consent")
            .unwrap();
        let first = get(&layer, "/?ref=acme", &[&accepted])
            .await
            .cookie("__Host-ref")
            .unwrap();
        clock.advance(Duration::from_secs(3600));
        let second = get(&layer, "/?ref=globex", &[&accepted, &first])
            .await
            .cookie("__Host-ref")
            .unwrap();
        let after = get(&layer, "/", &[&accepted, &second]).await;
        assert_eq!(
            after.text().lines().next(),
            Some(format!("referral={expected}:Cookie").as_str()),
            "{model:?}"
        );
    }
}

#[tokio::test]
async fn a_referral_value_under_another_cookie_name_is_rejected() {
    let clock = ManualClock::new(1_800_000_000);
    let layer = layer_with(&clock, partners());
    let accepted = consent(&layer, "action=accept_all", &[])
        .await
        .cookie("__Host-consent")
        .unwrap();
    let referral = get(&layer, "/?ref=acme", &[&accepted])
        .await
        .cookie("__Host-ref")
        .unwrap();
    let value = referral.trim_start_matches("__Host-ref=");
    let as_consent = get(&layer, "/consent", &[&format!("__Host-consent={value}")]).await;
    assert!(
        as_consent.text().contains(r#""decided":false"#),
        "a referral value is no consent"
    );
    let consent_value = accepted.trim_start_matches("__Host-consent=");
    let as_referral = get(
        &layer,
        "/",
        &[&accepted, &format!("__Host-ref={consent_value}")],
    )
    .await;
    assert_eq!(
        as_referral.text().lines().next(),
        Some("referral=none"),
        "a consent value is no referral"
    );
}

#[tokio::test]
async fn portal_hosts_tag_every_request_as_portal() {
    let clock = ManualClock::new(1_800_000_000);
    let layer = layer_with(&clock, partners());
    let portal = send(
        &layer,
        Method::GET,
        "/anything",
        "acme.localhost:3000",
        &[],
        None,
    )
    .await;
    assert_eq!(portal.text().lines().next(), Some("referral=acme:Portal"));
    assert!(
        portal.cookie("__Host-ref").is_none(),
        "marketing not granted yet"
    );
    // A partner whose portal access depends on the cookie declares it necessary.
    let necessary = send(&layer, Method::GET, "/", "initech.localhost", &[], None).await;
    assert_eq!(
        necessary.text().lines().next(),
        Some("referral=initech:Portal")
    );
    assert!(
        necessary.cookie("__Host-ref").is_some(),
        "a necessary partner cookie needs no consent"
    );
    assert!(necessary.referral_token().is_none(), "nothing pending");
}

#[tokio::test]
async fn clean_urls_redirect_once_the_referral_is_stored() {
    let clock = ManualClock::new(1_800_000_000);
    let layer = layer_with(&clock, partners().clean_urls(true));
    let undecided = get(&layer, "/products?ref=acme&page=2", &[]).await;
    assert_eq!(
        undecided.status,
        StatusCode::OK,
        "kept until it can be stored"
    );
    let accepted = consent(&layer, "action=accept_all", &[])
        .await
        .cookie("__Host-consent")
        .unwrap();
    let clean = get(&layer, "/products?ref=acme&page=2", &[&accepted]).await;
    assert_eq!(clean.status, StatusCode::SEE_OTHER);
    assert_eq!(clean.headers[header::LOCATION], "/products?page=2");
    assert!(clean.cookie("__Host-ref").is_some());
    let unknown = get(&layer, "/?ref=nobody", &[&accepted]).await;
    assert_eq!(
        unknown.status,
        StatusCode::OK,
        "unknown partners are not redirected either"
    );
}

#[tokio::test]
async fn referral_registry_mistakes_are_config_errors() {
    let build = |referral: ReferralConfig, with_consent: bool| {
        let mut builder = Consentry::builder(Keyring::new(1, Key::from_bytes(&[6; 32]).unwrap()))
            .referral(referral);
        if with_consent {
            builder =
                builder.consent(ConsentConfig::new(Policy::new(1)).ledger(MemoryLedger::new()));
        }
        builder.build()
    };
    assert!(
        build(partners(), false).is_err(),
        "referral without consent"
    );
    assert!(
        build(partners().partner(Partner::new("acme", "Again")), true).is_err(),
        "duplicate id"
    );
    assert!(
        build(
            partners().partner(Partner::new("x", "X").portal_host("acme.localhost")),
            true
        )
        .is_err(),
        "host claimed twice"
    );
    assert!(build(partners(), true).is_ok());
}

#[tokio::test]
async fn the_declaration_lists_the_referral_cookie_per_category() {
    let clock = ManualClock::new(1_800_000_000);
    let layer = layer_with(&clock, partners());
    let declaration = get(&layer, "/consent/declaration", &[]).await.text();
    let json: serde_json::Value = serde_json::from_str(&declaration).unwrap();
    let categories_with_ref: Vec<&str> = json["categories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["cookies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["name"] == "__Host-ref")
        })
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(categories_with_ref, ["necessary", "marketing"]);
}
