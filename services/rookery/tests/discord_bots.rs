//! Discord's own bot libraries, unmodified, against the real binary (issue
//! 17): a discord.py bot and a discord.js bot (`compat/`) log in with a bot
//! token, get READY and their guild, answer a human's message, read the
//! history, react, edit and delete their reply, fetch the members, and
//! see a webhook's message — without a library warning, error or
//! reconnect.
//!
//! `.ci/run` installs the pinned libraries (`compat/discord.py/
//! requirements.txt`, `compat/discord.js/package-lock.json`); where they
//! are missing these tests say so and stop, unless `ROOKERY_REQUIRE_TOOLS=1`.

use reqwest::Method;
use rookery_client::Api;
use rookery_proto::rest::BotToken;
use rookery_proto::{ChannelId, UserId};
use rookery_testkit::{ChildServer, tools};
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The whole scenario's budget, library start-up included.
const RUN_LIMIT: Duration = Duration::from_secs(120);

fn compat(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../compat")).join(path)
}

/// A human, a guild, a bot in it by invite, and a webhook of its channel.
struct World {
    http: String,
    human: Api,
    human_token: String,
    human_name: String,
    human_id: UserId,
    bot_token: String,
    bot_id: UserId,
    bot_name: String,
    channel: ChannelId,
    webhook_url: String,
}

async fn world(server: &ChildServer, library: &str) -> World {
    let http = format!("http://{}", server.addr);
    let api = Api::new(&http);
    let human_name = format!("{library}-human");
    let human = api.register(&human_name, "correct-horse").await.unwrap();
    let me = api.with_token(&human.token);
    let guild = me.create_guild("bots").await.unwrap();
    let (status, made) = me
        .raw(
            Method::POST,
            "/applications",
            Some(json!({"name": format!("{library}-bot")})),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 201, "{made}");
    let made: BotToken = serde_json::from_value(made).unwrap();
    let code = me.create_invite(guild.id).await.unwrap();
    let joined = reqwest::Client::new()
        .post(format!("{http}/api/v10/invites/{code}"))
        .header("authorization", format!("Bot {}", made.token))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status().as_u16(), 200);
    let channel = guild.channels[0].id;
    let (status, hook) = me
        .raw(
            Method::POST,
            &format!("/channels/{channel}/webhooks"),
            Some(json!({"name": "hook"})),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 200, "{hook}");
    let (hook_id, token) = (
        hook["id"].as_str().unwrap(),
        hook["token"].as_str().unwrap(),
    );
    World {
        webhook_url: format!("{http}/api/v10/webhooks/{hook_id}/{token}"),
        http,
        human: me,
        human_token: human.token,
        human_name,
        human_id: human.user.id,
        bot_token: made.token,
        bot_id: UserId::from(made.application.id),
        bot_name: made.application.name,
        channel,
    }
}

/// Runs a bot to its end (killed after [`RUN_LIMIT`]): its report, after
/// checking it passed.
async fn run_bot(program: &str, script: PathBuf, w: &World) -> Value {
    let mut command = std::process::Command::new(program);
    command
        .arg(script)
        .env("ROOKERY_HTTP", &w.http)
        .env("BOT_TOKEN", &w.bot_token)
        .env("HUMAN_TOKEN", &w.human_token)
        .env("HUMAN_ID", w.human_id.to_string())
        .env("CHANNEL_ID", w.channel.to_string())
        .env("WEBHOOK_URL", &w.webhook_url)
        .env("DEADLINE_SECS", "90")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the bot starts");
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text)
                .map(|_| text)
                .unwrap_or_default()
        })
    };
    let (stdout, stderr) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the bot did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let report = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok());
    let report = report.unwrap_or_else(|| panic!("no report; stderr:\n{stderr}"));
    assert!(status.success(), "{report:#}\nstderr:\n{stderr}");
    report
}

/// What every bot's report must say, and what the server must show after.
async fn check(report: &Value, w: &World) {
    assert_eq!(report["errors"], json!([]), "{report:#}");
    assert_eq!(
        report["complaints"],
        json!([]),
        "the library logged trouble"
    );
    assert_eq!(
        (report["connects"].clone(), report["resumes"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(report["ready_guilds"], json!(["bots"]));
    // The human and the bot.
    assert_eq!(report["member_counts"], json!([2]));
    assert_eq!(report["ready_channels"], json!(["general"]));
    assert_eq!(report["application_id"], json!(w.bot_id.to_string()));
    assert_eq!(report["user"], json!({"name": w.bot_name, "bot": true}));
    assert_eq!(report["heard"], "hello bot");
    let history = report["history"].as_array().unwrap();
    assert!(history.contains(&json!("hello human")), "{history:?}");
    assert!(history.contains(&json!("hello bot")), "{history:?}");
    assert_eq!(report["edited"], "hello human (edited)");
    let mut members = vec![w.human_name.clone(), w.bot_name.clone()];
    members.sort();
    assert_eq!(report["members"], json!(members));
    assert_eq!(report["webhook_message"], "from a hook");
    // The human sees what the bot did: a reaction on the greeting, the
    // reply gone, the webhook's message there.
    let path = format!("/channels/{}/messages?limit=10", w.channel);
    let (_, seen) = w.human.raw(Method::GET, &path, None).await.unwrap();
    let contents: Vec<_> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(contents, [json!("from a hook"), json!("hello bot")]);
    assert_eq!(seen[1]["reactions"][0]["count"], 1);
    assert!(seen[0]["webhook_id"].is_string(), "{:#}", seen[0]);
}

fn serve() -> (ChildServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::spawn(env!("CARGO_BIN_EXE_rookery"), dir.path(), &[]);
    (server, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmodified_discord_py_bot_runs_the_whole_scenario() {
    if !tools::python_modules(&["discord"]) {
        return;
    }
    let (server, _dir) = serve();
    let w = world(&server, "py").await;
    let report = run_bot("python3", compat("discord.py/bot.py"), &w).await;
    check(&report, &w).await;
    assert_eq!(
        report["cached_members"], report["members"],
        "chunked by op 8"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmodified_discord_js_bot_runs_the_whole_scenario() {
    let installed = compat("discord.js/node_modules/discord.js").is_dir();
    if !tools::available("discord.js (npm ci in compat/discord.js)", installed) {
        return;
    }
    let Some(node) = tools::program("node") else {
        return;
    };
    let (server, _dir) = serve();
    let w = world(&server, "js").await;
    let report = run_bot(node.to_str().unwrap(), compat("discord.js/bot.mjs"), &w).await;
    check(&report, &w).await;
    assert_eq!(report["reconnects"], 0);
    assert_eq!(report["listed_members"], report["members"], "paged by REST");
    let ready_ms = report["ready_ms"].as_u64().unwrap();
    assert!(
        ready_ms < 5_000,
        "ready after {ready_ms} ms: a GUILD_CREATE was missing"
    );
}
