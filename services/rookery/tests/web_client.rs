//! The web client (`web/`, issue 18) in a real browser against the real
//! binary: `web/test/browser.mjs` drives Debian's Chromium through
//! playwright-core with two people (register, guild, invite link, live
//! messages, replies, reactions, edits, deletes, typing, unread and mention
//! badges, history scroll-back, a DM, kill -9 and restart with nothing
//! lost or doubled, a phone-sized screen, a paced burst under the channel
//! write limit). It starts and kills the server itself, on a fixed port, so
//! the browser keeps its origin across the restart.
//!
//! `.ci/run` installs Chromium and the packages (`web/package-lock.json`);
//! where they are missing this test says so and stops, unless
//! `ROOKERY_REQUIRE_TOOLS=1`. Screenshots go to `target/web-screenshots`.

use rookery_testkit::tools;
use std::path::PathBuf;
use std::process::Command;

fn web(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web")).join(path)
}

#[test]
fn two_people_chat_in_a_real_browser_across_a_server_kill() {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let installed = web("node_modules/playwright-core").is_dir() && chromium.is_file();
    if !tools::available("chromium and playwright-core (npm ci in web/)", installed)
        || tools::program("node").is_none()
    {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let screenshots = web("../target/web-screenshots");
    let _ = std::fs::remove_dir_all(&screenshots);
    let output = Command::new("node")
        .arg(web("test/browser.mjs"))
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_rookery"))
        .arg("--data-dir")
        .arg(data.path().join("server"))
        .arg("--screenshots")
        .arg(&screenshots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.contains("all browser checks passed"),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    for view in ["login", "chat", "unread", "settings", "phone"] {
        let shot = screenshots.join(format!("{view}.png"));
        assert!(shot.is_file(), "no screenshot {}", shot.display());
    }
}

/// The page and its files, as every edge serves them: the page at `/` and
/// at invite links, modules with a JavaScript type (browsers refuse a module
/// otherwise), gzip when accepted, revalidation by ETag, the policy that
/// forbids inline script and other origins, and nothing outside the table.
#[tokio::test]
async fn the_page_and_its_modules_are_served_with_types_caching_and_policy() {
    let server = rookery_testkit::TestServer::start().await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", server.http()));
    for path in ["/", "/invite/AbC123"] {
        let page = get(path).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let headers = page.headers().clone();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"));
        assert!(page.text().await.unwrap().contains("/assets/src/main.js"));
    }
    let module = get("/assets/src/main.js").send().await.unwrap();
    assert_eq!(
        module.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(module.headers()["cache-control"], "no-cache");
    let etag = module.headers()["etag"].clone();
    let plain = module.bytes().await.unwrap();
    let again = get("/assets/src/main.js").header("if-none-match", etag);
    assert_eq!(again.send().await.unwrap().status(), 304);
    let gzipped = get("/assets/src/main.js")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let compressed = gzipped.bytes().await.unwrap();
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&compressed[..]),
        &mut inflated,
    )
    .unwrap();
    assert_eq!(inflated, plain);
    for missing in ["/assets/src/nope.js", "/assets/../Cargo.toml", "/assets/"] {
        let status = get(missing).send().await.unwrap().status();
        assert_eq!(status, 404, "{missing}");
    }
    server.stop().await;
}
