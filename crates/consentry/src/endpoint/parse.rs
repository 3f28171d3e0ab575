//! Reading a decision from a request body: JSON from the banner or an API, or the
//! no-JavaScript form.

use bytes::Bytes;
use consentry_banner::protocol;
use http::header::CONTENT_LENGTH;
use http::{Request, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt as _, Limited};
use serde::Deserialize;

use super::reply::{Rejection, bad_request};
use crate::BoxError;
use crate::consent::Choice;
use crate::origin::local_or_root;

/// Largest accepted request body.
pub(super) const MAX_BODY: usize = 4 * 1024;

/// A path on this site to return to, or `/` for anything else (no open redirect).
pub(crate) fn safe_return_to(candidate: Option<&str>) -> String {
    local_or_root(candidate.unwrap_or("/")).to_owned()
}

#[derive(Deserialize)]
struct JsonDecision {
    granted: Option<Vec<String>>,
    action: Option<String>,
    revision: Option<u32>,
    referral: Option<String>,
}

pub(super) struct Parsed {
    pub(super) choice: Choice,
    pub(super) revision: Option<u32>,
    /// Form posts come back here with 303.
    pub(super) return_to: Option<String>,
    /// A pending referral token from the banner.
    pub(super) referral: Option<String>,
}

fn parse_action(action: &str, granted: Vec<String>) -> Result<Choice, Rejection> {
    match action {
        protocol::ACCEPT_ALL => Ok(Choice::AcceptAll),
        protocol::REJECT_ALL => Ok(Choice::RejectAll),
        protocol::SAVE => Ok(Choice::Granted(granted)),
        _ => Err(bad_request("action must be accept_all, reject_all or save")),
    }
}

/// Parses `body` both ways, for the fuzz targets: the form's place to return to, when the
/// form parses.
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_both(body: &[u8]) -> Option<String> {
    let _ = parse_json(body);
    parse_form(body).ok().map(|parsed| {
        parsed
            .return_to
            .expect("a form always has a place to return to")
    })
}

pub(super) fn parse_json(body: &[u8]) -> Result<Parsed, Rejection> {
    let decision: JsonDecision =
        serde_json::from_slice(body).map_err(|e| bad_request(&format!("malformed JSON: {e}")))?;
    let choice = match (decision.action, decision.granted) {
        (Some(action), granted) => parse_action(&action, granted.unwrap_or_default())?,
        (None, Some(granted)) => Choice::Granted(granted),
        (None, None) => {
            return Err(bad_request(
                "give `granted` (a list of categories) or `action`",
            ));
        }
    };
    Ok(Parsed {
        choice,
        revision: decision.revision,
        return_to: None,
        referral: decision.referral,
    })
}

pub(super) fn parse_form(body: &[u8]) -> Result<Parsed, Rejection> {
    let mut action = None;
    let mut granted = Vec::new();
    let mut return_to = None;
    let mut revision = None;
    let mut referral = None;
    for (key, value) in form_urlencoded::parse(body) {
        match &*key {
            protocol::ACTION_FIELD => action = Some(value.into_owned()),
            protocol::GRANTED_FIELD => granted.push(value.into_owned()),
            protocol::RETURN_TO_FIELD => return_to = Some(value.into_owned()),
            protocol::REFERRAL_FIELD => referral = Some(value.into_owned()),
            protocol::REVISION_FIELD => {
                revision = Some(
                    value
                        .parse::<u32>()
                        .map_err(|_| bad_request("revision must be a number"))?,
                );
            }
            _ => {}
        }
    }
    let choice = match action {
        Some(action) => parse_action(&action, granted)?,
        None => Choice::Granted(granted),
    };
    Ok(Parsed {
        choice,
        revision,
        return_to: Some(safe_return_to(return_to.as_deref())),
        referral,
    })
}

pub(super) async fn read_body<B>(request: Request<B>) -> Result<Bytes, Rejection>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let too_large = || Rejection {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "too_large",
        message: "the body is limited to 4 KiB".to_owned(),
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY as u64) {
        return Err(too_large());
    }
    match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(bad_request("the body could not be read")),
    }
}
