//! A terminal chat client.
//!
//! ```text
//! cargo run -p rookery-client --example chat -- http://127.0.0.1:8080 alice 'a long password'
//! cargo run -p rookery-client --example chat -- http://127.0.0.1:8080 bob 'another password' INVITE
//! ```
//!
//! Logs in (registering on first use), joins the guild of `INVITE` if given
//! or creates a guild when the user has none, prints the recent history of
//! its first channel, then sends every line typed and prints every message
//! that arrives over the gateway.

use rookery_client::{Api, ClientError, Gateway};
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::op;
use rookery_proto::model::Message;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [server, username, password, rest @ ..] = args.as_slice() else {
        eprintln!("usage: chat <http://host:port> <username> <password> [invite-code]");
        std::process::exit(2);
    };
    let api = Api::new(server.as_str());
    let auth = match api.login(username, password).await {
        Err(ClientError::Api { status: 401, .. }) => api.register(username, password).await?,
        other => other?,
    };
    let me = api.with_token(&auth.token);
    if let Some(code) = rest.first() {
        me.accept_invite(code).await?;
    } else if me.my_guilds().await?.is_empty() {
        me.create_guild(&format!("{username}'s guild")).await?;
    }

    let ws = server.replacen("http", "ws", 1);
    let mut gateway = Gateway::connect(&ws, Encoding::Json).await?;
    let ready = gateway.identify(&auth.token).await?;
    let guild = ready.guilds.first().ok_or("no guild")?;
    let channel = guild.channels.first().ok_or("guild has no channel")?;
    let invite = me.create_invite(guild.id).await?;
    println!(
        "# {} / #{} — a friend joins with:",
        guild.name, channel.name
    );
    println!(
        "#   cargo run -p rookery-client --example chat -- {server} <name> <password> {invite}"
    );
    for m in me.history(channel.id, "limit=20").await?.iter().rev() {
        print_message(m);
    }

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut heartbeat =
        tokio::time::interval(Duration::from_millis(gateway.hello.heartbeat_interval));
    let mut sent = 0u64;
    loop {
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(text) if !text.trim().is_empty() => {
                    sent += 1;
                    gateway.send_message(channel.id, &format!("{}-{sent}", ready.session_id), &text).await?;
                }
                Some(_) => {}
                None => break,
            },
            frame = gateway.next() => {
                let frame = frame?;
                match (frame.header.op, frame.t()) {
                    (op::DISPATCH, Some("MESSAGE_CREATE")) => print_message(&frame.d::<Message>()?),
                    (op::SEND_ERROR, _) => eprintln!("! {:?}", frame.d::<rookery_proto::gateway::SendError>()?.message),
                    _ => {}
                }
            }
            _ = heartbeat.tick() => gateway.heartbeat().await?,
        }
    }
    gateway.close(1000).await?;
    Ok(())
}

fn print_message(m: &Message) {
    let time = m.timestamp.get(11..16).unwrap_or("");
    println!("[{time}] {}: {}", m.author.username, m.content);
}
