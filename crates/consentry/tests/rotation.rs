//! Key rotation on a running deployment: cookies signed by a previous key keep working and
//! are re-signed by the new one; once the old key is removed they stop working.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use consentry::ledger::MemoryLedger;
use consentry::store::{MemoryStore, SessionStore};
use consentry::testing::Client;
use consentry::{
    ConsentConfig, Consentry, ConsentryLayer, Key, Keyring, Partner, Policy, Referral,
    ReferralConfig, Session, SessionConfig,
};
use http::{Request, Response};
use http_body_util::Full;
use tower::{Layer, service_fn};

/// `/login` stores a user; `/whoami` answers `user consent-decided referral`.
async fn app(request: Request<Full<Bytes>>) -> Result<Response<String>, Infallible> {
    let session = request.extensions().get::<Session>().cloned().unwrap();
    let consent = request.extensions().get::<consentry::Consent>().cloned();
    let referral = request.extensions().get::<Referral>().cloned();
    if request.uri().path() == "/login" {
        session.insert("user", &"demo").await.unwrap();
        return Ok(Response::new("ok".into()));
    }
    let user: Option<String> = session.get("user").await.unwrap();
    Ok(Response::new(format!(
        "{} {} {}",
        user.as_deref().unwrap_or("-"),
        consent.is_some_and(|c| c.decided()),
        referral.map_or("-".to_owned(), |r| r.partner_id().to_owned()),
    )))
}

fn layer(keyring: Keyring, store: &Arc<dyn SessionStore>) -> ConsentryLayer {
    Consentry::builder(keyring)
        .session(SessionConfig::with_shared_store(Arc::clone(store)))
        .consent(ConsentConfig::new(Policy::new(1)).ledger(MemoryLedger::new()))
        .referral(ReferralConfig::new().partner(Partner::new("acme", "Acme")))
        .build()
        .unwrap()
}

fn secret(byte: u8) -> Key {
    Key::from_bytes(&[byte; 32]).unwrap()
}

const COOKIES: [&str; 3] = ["__Host-sid", "__Host-consent", "__Host-ref"];

#[tokio::test]
async fn old_cookies_work_during_a_rotation_are_re_signed_and_end_with_the_old_key() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let before =
        Client::new(layer(Keyring::from_keys(secret(1), []), &store).layer(service_fn(app)));
    before
        .post_json("/consent", r#"{"action":"accept_all"}"#)
        .await;
    before.get("/login").await;
    before.get("/?ref=acme").await;
    assert_eq!(before.get("/whoami").await.text(), "demo true acme");
    let old: Vec<(String, String)> = before.cookies();

    // The new secret signs; the old one only verifies.
    let during = Client::new(
        layer(Keyring::from_keys(secret(2), [secret(1)]), &store).layer(service_fn(app)),
    );
    for (name, value) in &old {
        during.set_cookie(name.clone(), value.clone());
    }
    let reply = during.get("/whoami").await;
    assert_eq!(reply.text(), "demo true acme", "old cookies still work");
    for name in COOKIES {
        let renewed = reply.new_cookie(name);
        assert!(renewed.is_some(), "{name} re-signed");
        assert_ne!(renewed, before.cookie(name), "{name} changed");
    }
    let again = during.get("/whoami").await;
    assert!(
        again.set_cookies().is_empty(),
        "re-signed once, not on every request"
    );

    // The old secret removed: cookies it signed are worthless; re-signed ones work.
    let after = layer(Keyring::from_keys(secret(2), []), &store);
    let stale = Client::new(after.clone().layer(service_fn(app)));
    for (name, value) in &old {
        stale.set_cookie(name.clone(), value.clone());
    }
    assert_eq!(stale.get("/whoami").await.text(), "- false -");
    let renewed = Client::new(after.layer(service_fn(app)));
    for (name, value) in during.cookies() {
        renewed.set_cookie(name, value);
    }
    assert_eq!(renewed.get("/whoami").await.text(), "demo true acme");
}
