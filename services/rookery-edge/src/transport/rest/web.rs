//! The web client (`web/` at the repository's root), embedded in the binary
//! and served by every edge: `/` and `/invite/{code}` answer the page, and
//! `/assets/...` its modules and style sheet.
//!
//! The client is plain ES modules, so nothing is built: the files are
//! compiled in as they are. They are not fingerprinted (a module's imports
//! name its neighbours by path), so every answer says `no-cache` with a
//! strong `ETag`, and a browser revalidates with one cheap 304 per file. A
//! client that accepts gzip gets each file compressed once, on first use.
//! Every page answer carries a Content-Security-Policy that allows this
//! origin only (scripts, styles, the gateway's WebSocket) and no inline
//! script.

use axum::extract::Path;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::hash::{DefaultHasher, Hasher};
use std::io::Write;
use std::sync::OnceLock;

/// What a page may load and connect to: this origin only, nothing inline
/// (script sets styles through the CSSOM, which the policy allows), no
/// frames, no plugins.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $content_type:literal,)*) => {
        /// Every file the client is made of, by its path under `web/`.
        const ASSETS: &[Asset] = &[$(Asset {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/", $path)),
        },)*];
    };
}

assets! {
    "index.html" => "text/html; charset=utf-8",
    "app.css" => "text/css; charset=utf-8",
    "icon.svg" => "image/svg+xml",
    "src/api.js" => "text/javascript; charset=utf-8",
    "src/app.js" => "text/javascript; charset=utf-8",
    "src/chat.js" => "text/javascript; charset=utf-8",
    "src/composer.js" => "text/javascript; charset=utf-8",
    "src/dispatch.js" => "text/javascript; charset=utf-8",
    "src/dom.js" => "text/javascript; charset=utf-8",
    "src/gateway.js" => "text/javascript; charset=utf-8",
    "src/login.js" => "text/javascript; charset=utf-8",
    "src/main.js" => "text/javascript; charset=utf-8",
    "src/message_list.js" => "text/javascript; charset=utf-8",
    "src/messages.js" => "text/javascript; charset=utf-8",
    "src/permissions.js" => "text/javascript; charset=utf-8",
    "src/settings.js" => "text/javascript; charset=utf-8",
    "src/sidebar.js" => "text/javascript; charset=utf-8",
    "src/state.js" => "text/javascript; charset=utf-8",
}

/// An asset's answers, prepared once: its ETag and its gzip form.
struct Prepared {
    etag: HeaderValue,
    gzip: Vec<u8>,
}

fn prepared(index: usize) -> &'static Prepared {
    static PREPARED: OnceLock<Vec<OnceLock<Prepared>>> = OnceLock::new();
    let all = PREPARED.get_or_init(|| ASSETS.iter().map(|_| OnceLock::new()).collect());
    all[index].get_or_init(|| prepare(ASSETS[index].bytes))
}

fn prepare(bytes: &[u8]) -> Prepared {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    let etag = HeaderValue::from_str(&format!("\"{:016x}\"", hasher.finish()))
        .expect("hex is a header value");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("writing to memory");
    let gzip = encoder.finish().expect("writing to memory");
    Prepared { etag, gzip }
}

/// `GET /` and `GET /invite/{code}`: the page (the client reads the path).
pub(super) async fn page(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /assets/{*path}`: a module, the style sheet or the icon.
pub(super) async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.path == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let asset = &ASSETS[index];
    let prepared = prepared(index);
    let mut response = if request
        .get(IF_NONE_MATCH)
        .is_some_and(|tag| tag == prepared.etag)
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(request) {
        let mut response = prepared.gzip.clone().into_response();
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        asset.bytes.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(ETAG, prepared.etag.clone());
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module under `web/src` is embedded: a new one missing from the
    /// table would load as a 404 in the browser.
    #[test]
    fn every_module_of_the_client_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/src");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let path = format!("src/{name}");
            assert!(
                ASSETS.iter().any(|a| a.path == path),
                "{path} is not in the asset table"
            );
        }
    }

    #[test]
    fn gzip_is_served_only_when_accepted() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
            accepts_gzip(&headers)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, GZIP;q=0.5"));
        assert!(!with("gzip;q=0"));
        assert!(!with("deflate, br"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn unknown_assets_are_not_found_and_known_ones_revalidate() {
        assert_eq!(
            serve("../Cargo.toml", &HeaderMap::new()).status(),
            StatusCode::NOT_FOUND
        );
        let first = serve("src/main.js", &HeaderMap::new());
        assert_eq!(first.status(), StatusCode::OK);
        let mut again = HeaderMap::new();
        again.insert(IF_NONE_MATCH, first.headers()[ETAG].clone());
        assert_eq!(
            serve("src/main.js", &again).status(),
            StatusCode::NOT_MODIFIED
        );
    }
}
