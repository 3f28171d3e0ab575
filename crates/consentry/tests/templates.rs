//! The rendering helpers in template engines: `Html` goes into askama and maud templates
//! unescaped (features `askama`, `maud`), and the banner knows the request's path.
#![cfg(all(feature = "askama", feature = "maud"))]

use std::convert::Infallible;

use askama::Template;
use bytes::Bytes;
use consentry::ledger::MemoryLedger;
use consentry::testing::Client;
use consentry::{Category, ConsentConfig, Consentry, Html, Key, Keyring, Page, Policy};
use http::{Request, Response};
use http_body_util::Full;
use tower::{Layer, service_fn};

#[derive(Template)]
#[template(
    source = "<main>{{ title }}</main><footer>{{ link }}</footer>{{ banner }}{{ tag }}",
    ext = "html"
)]
struct AskamaPage {
    title: &'static str,
    link: Html,
    banner: Html,
    tag: Html,
}

fn maud_page(page: &Page) -> String {
    maud::html! {
        main { "<b>escaped</b>" }
        footer { (page.settings_link()) }
        (page.banner_html())
        (page.script_tag(&Category::ANALYTICS, "https://stats.example/a.js"))
    }
    .into_string()
}

async fn app(request: Request<Full<Bytes>>) -> Result<Response<String>, Infallible> {
    let page = request.extensions().get::<Page>().cloned().unwrap();
    let body = if request.uri().path().starts_with("/maud") {
        maud_page(&page)
    } else {
        AskamaPage {
            title: "<b>escaped</b>",
            link: page.settings_link(),
            banner: page.banner_html(),
            tag: page.script_tag(&Category::ANALYTICS, "https://stats.example/a.js"),
        }
        .render()
        .unwrap()
    };
    Ok(Response::new(body))
}

fn client() -> Client<
    impl tower::Service<
        Request<Full<Bytes>>,
        Response = Response<consentry::ConsentryBody<String>>,
        Error = Infallible,
    > + Clone,
> {
    let layer = Consentry::builder(Keyring::new(1, Key::from_bytes(&[3; 32]).unwrap()))
        .consent(ConsentConfig::new(Policy::new(1)).ledger(MemoryLedger::new()))
        .build()
        .unwrap();
    Client::new(layer.layer(service_fn(app)))
}

#[tokio::test]
async fn helpers_are_safe_markup_in_askama_and_maud() {
    let client = client();
    for path in ["/askama/orders", "/maud/orders"] {
        let body = client.get(path).await.text();
        assert!(
            body.contains("&lt;b&gt;escaped&lt;/b&gt;")
                || body.contains("&#60;b&#62;escaped&#60;/b&#62;"),
            "{path}: own text escaped: {body}"
        );
        assert!(
            body.contains("<form"),
            "{path}: the banner is markup: {body}"
        );
        assert!(
            body.contains("<a href=\"/consent\" data-consent-open>"),
            "{path}"
        );
        assert!(
            body.contains(r#"<script type="text/plain" data-consent="analytics""#),
            "{path}"
        );
        assert!(!body.contains("&lt;form"), "{path}: not escaped twice");
        assert!(
            body.contains(&format!(r#"name="return_to" value="{path}""#)),
            "{path}: the form comes back to the request's own path"
        );
    }
}
