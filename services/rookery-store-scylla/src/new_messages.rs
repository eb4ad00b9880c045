//! New messages, written in as few requests as their partitions allow:
//! the rows of one channel bucket go in one unlogged batch, an author's
//! nonces in another, each row at its own write time (`USING TIMESTAMP ?`
//! in the statement, not one time for the batch). A batch that stays in
//! one partition is one mutation on the replica: no batch log, no
//! coordinator fan-out, and none of the batch size limits, which count
//! only batches spanning partitions. A hot channel's burst then costs one
//! request instead of one per message (and one per nonce).

use crate::metrics as sm;
use crate::session::backend;
use crate::store::{Inner, key, unless};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rookery_proto::model::Message;
use rookery_proto::{ChannelId, UserId};
use rookery_store::{Mutation, StoreError, WriteTime};
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use std::collections::BTreeMap;

type Timed<'a> = (WriteTime, &'a Message);

/// One request of a batch of new messages.
enum Request<'s, 'm> {
    /// Message rows of one partition.
    Rows(&'s [Timed<'m>]),
    /// Nonce rows of one author.
    Nonces(&'s [Timed<'m>]),
    /// A message's bucket row (once per bucket) and mention index rows.
    Indexes(Timed<'m>),
}

impl Inner {
    /// A batch of new messages only (they commute), `write_concurrency`
    /// requests at a time.
    pub(crate) async fn write_messages(
        &self,
        batch: &[(WriteTime, Mutation)],
    ) -> Result<(), StoreError> {
        let messages: Vec<Timed<'_>> = batch
            .iter()
            .filter_map(|(at, m)| match m {
                Mutation::Message(msg) => Some((*at, msg)),
                _ => None,
            })
            .collect();
        let (rows, nonces) = self.by_partition(&messages);
        let mut requests: Vec<Request<'_, '_>> = Vec::new();
        for group in rows.values() {
            requests.extend(group.chunks(self.batch_rows).map(Request::Rows));
        }
        for group in nonces.values() {
            requests.extend(group.chunks(self.batch_rows).map(Request::Nonces));
        }
        requests.extend(messages.iter().map(|&m| Request::Indexes(m)));
        let mut in_flight = FuturesUnordered::new();
        for request in requests {
            if in_flight.len() >= self.write_concurrency.max(1) {
                in_flight.next().await.transpose()?;
            }
            in_flight.push(self.send(request));
        }
        while let Some(done) = in_flight.next().await {
            done?;
        }
        Ok(())
    }

    /// The messages by message partition (channel, bucket), and those
    /// with a nonce by author (the nonce table's partition).
    #[allow(clippy::type_complexity)]
    fn by_partition<'a>(
        &self,
        messages: &[Timed<'a>],
    ) -> (
        BTreeMap<(ChannelId, u32), Vec<Timed<'a>>>,
        BTreeMap<UserId, Vec<Timed<'a>>>,
    ) {
        let (mut rows, mut nonces) = (BTreeMap::new(), BTreeMap::new());
        for &(at, msg) in messages {
            let partition = (msg.channel_id, msg.id.bucket(self.bucket_ms));
            rows.entry(partition)
                .or_insert_with(Vec::new)
                .push((at, msg));
            if msg.nonce.is_some() {
                nonces
                    .entry(msg.author.id)
                    .or_insert_with(Vec::new)
                    .push((at, msg));
            }
        }
        (rows, nonces)
    }

    /// One message alone: its row, nonce and indexes together.
    pub(crate) async fn write_message(
        &self,
        at: WriteTime,
        msg: &Message,
    ) -> Result<(), StoreError> {
        let one = [(at, msg)];
        let nonce = async {
            match msg.nonce {
                Some(_) => self.send(Request::Nonces(&one)).await,
                None => Ok(()),
            }
        };
        futures_util::try_join!(
            self.send(Request::Rows(&one)),
            nonce,
            self.send(Request::Indexes((at, msg))),
        )?;
        Ok(())
    }

    async fn send(&self, request: Request<'_, '_>) -> Result<(), StoreError> {
        let s = &self.s;
        match request {
            Request::Rows(rows) => {
                let values = rows
                    .iter()
                    .map(|&(at, m)| message_row(at, m, self.bucket_ms));
                self.batched(&s.insert_message, values.collect()).await
            }
            Request::Nonces(rows) => {
                let values = rows.iter().filter_map(|&(at, m)| {
                    let nonce = m.nonce.as_deref()?;
                    Some((key(m.author.id), nonce, key(m.id), at.0))
                });
                self.batched(&s.insert_nonce, values.collect()).await
            }
            Request::Indexes((at, msg)) => {
                futures_util::try_join!(
                    self.bucket_row(at, msg),
                    self.index_mentions(at, msg, true)
                )?;
                Ok(())
            }
        }
    }

    /// `rows` of one partition through `stmt`, which binds each row's
    /// write time last: one request, batched when there are several.
    async fn batched<R: SerializeRow>(
        &self,
        stmt: &PreparedStatement,
        mut rows: Vec<R>,
    ) -> Result<(), StoreError> {
        metrics::histogram!(sm::BATCH_ROWS).record(rows.len() as f64);
        if rows.len() <= 1 {
            let Some(row) = rows.pop() else { return Ok(()) };
            self.session
                .execute_unpaged(stmt, row)
                .await
                .map_err(backend)?;
            return Ok(());
        }
        let mut batch = Batch::new(BatchType::Unlogged);
        for _ in &rows {
            batch.append_statement(stmt.clone());
        }
        batch.set_is_idempotent(true);
        self.session.batch(&batch, rows).await.map_err(backend)?;
        Ok(())
    }

    /// The channel's row for the message's bucket, unless written before.
    async fn bucket_row(&self, at: WriteTime, msg: &Message) -> Result<(), StoreError> {
        let bucket = msg.id.bucket(self.bucket_ms);
        let known = (msg.channel_id, bucket);
        if self.known_buckets.contains_key(&known) {
            return Ok(());
        }
        let values = (key(msg.channel_id), i64::from(bucket));
        self.exec(at, &self.s.insert_bucket, values).await?;
        self.known_buckets.insert(known, ()).await;
        Ok(())
    }
}

/// A message's row for `INSERT_MESSAGE`, its write time last.
fn message_row(at: WriteTime, msg: &Message, bucket_ms: u64) -> impl SerializeRow + '_ {
    let mentions: BTreeMap<i64, &str> = msg
        .mentions
        .iter()
        .map(|u| (key(u.id), u.username.as_str()))
        .collect();
    let roles: Vec<i64> = msg.mention_roles.iter().copied().map(key).collect();
    let reply_to = msg.message_reference.as_ref().map(|r| key(r.message_id));
    (
        key(msg.channel_id),
        i64::from(msg.id.bucket(bucket_ms)),
        key(msg.id),
        key(msg.guild_id),
        key(msg.author.id),
        &msg.author.username,
        &msg.content,
        unless(msg.nonce.is_none(), &msg.nonce),
        unless(reply_to.is_none(), reply_to),
        unless(mentions.is_empty(), mentions),
        unless(roles.is_empty(), roles),
        unless(!msg.mention_everyone, true),
        msg.webhook_id.map(key),
        unless(!msg.author_bot, true),
        at.0,
    )
}
