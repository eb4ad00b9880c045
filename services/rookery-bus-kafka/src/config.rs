//! Settings from one `kafka://` URL (`--bus` / `ROOKERY_BUS`):
//!
//! ```text
//! kafka://host:port[,host:port...][?topic=NAME&interest_topic=NAME&ephemeral_topic=NAME&<librdkafka property>=<value>&...]
//! ```
//!
//! Every query option but the three topics is a librdkafka property applied to every
//! client Rookery creates (producer, consumers, admin), over Rookery's
//! defaults: e.g. `security.protocol=SASL_SSL`, `linger.ms=2`.

use rookery_bus::BusError;

/// The events topic unless the URL names another.
pub const DEFAULT_TOPIC: &str = "rookery.events";

/// The interest topic, co-partitioned with the events topic.
pub const DEFAULT_INTEREST_TOPIC: &str = "rookery.interest";

/// The ephemeral topic (typing, presence), co-partitioned too.
pub const DEFAULT_EPHEMERAL_TOPIC: &str = "rookery.ephemeral";

/// Settings of the Kafka bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// The events topic.
    pub topic: String,
    /// The interest topic.
    pub interest_topic: String,
    /// The ephemeral topic.
    pub ephemeral_topic: String,
    /// librdkafka properties over the defaults, in URL order.
    pub overrides: Vec<(String, String)>,
}

fn invalid(detail: impl std::fmt::Display) -> BusError {
    BusError::Config(format!("invalid kafka URL: {detail}"))
}

impl KafkaConfig {
    /// Parses a `kafka://` URL.
    pub fn from_url(url: &str) -> Result<Self, BusError> {
        let rest = url
            .strip_prefix("kafka://")
            .ok_or_else(|| invalid("it must start with kafka://"))?;
        let (brokers, query) = rest.split_once('?').unwrap_or((rest, ""));
        for b in brokers.split(',') {
            let ok = b
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
            if !ok {
                return Err(invalid(format!("broker {b:?} needs host:port")));
            }
        }
        let mut config = Self {
            brokers: brokers.to_owned(),
            topic: DEFAULT_TOPIC.to_owned(),
            interest_topic: DEFAULT_INTEREST_TOPIC.to_owned(),
            ephemeral_topic: DEFAULT_EPHEMERAL_TOPIC.to_owned(),
            overrides: Vec::new(),
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| invalid(format!("option {pair:?} has no value")))?;
            match k {
                "topic" if !v.is_empty() => config.topic = v.to_owned(),
                "topic" => return Err(invalid("empty topic")),
                "interest_topic" if !v.is_empty() => config.interest_topic = v.to_owned(),
                "interest_topic" => return Err(invalid("empty interest_topic")),
                "ephemeral_topic" if !v.is_empty() => config.ephemeral_topic = v.to_owned(),
                "ephemeral_topic" => return Err(invalid("empty ephemeral_topic")),
                "bootstrap.servers" => return Err(invalid("brokers go in the host list")),
                _ => config.overrides.push((k.to_owned(), v.to_owned())),
            }
        }
        Ok(config)
    }

    /// A client config with `defaults`, then the URL's overrides.
    pub(crate) fn client(&self, defaults: &[(&str, &str)]) -> rdkafka::ClientConfig {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in defaults {
            c.set(*k, *v);
        }
        for (k, v) in &self.overrides {
            c.set(k, v);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brokers_topic_and_overrides() {
        let c = KafkaConfig::from_url(
            "kafka://k1:9092,k2:9092?topic=chat.events&interest_topic=chat.interest&ephemeral_topic=chat.ephemeral&linger.ms=2&security.protocol=SSL",
        )
        .unwrap();
        assert_eq!(c.brokers, "k1:9092,k2:9092");
        assert_eq!(c.topic, "chat.events");
        assert_eq!(c.interest_topic, "chat.interest");
        assert_eq!(c.ephemeral_topic, "chat.ephemeral");
        assert_eq!(
            c.overrides,
            [
                ("linger.ms".to_owned(), "2".to_owned()),
                ("security.protocol".to_owned(), "SSL".to_owned())
            ]
        );
        let client = c.client(&[("linger.ms", "5"), ("acks", "all")]);
        assert_eq!(client.get("linger.ms"), Some("2"), "the URL wins");
        assert_eq!(client.get("acks"), Some("all"));
        assert_eq!(
            KafkaConfig::from_url("kafka://k:1").unwrap().topic,
            DEFAULT_TOPIC
        );
    }

    #[test]
    fn bad_urls_say_why() {
        for (url, needle) in [
            ("http://k:9092", "kafka://"),
            ("kafka://k", "host:port"),
            ("kafka://k:9092,", "host:port"),
            ("kafka://k:9092?linger.ms", "no value"),
            ("kafka://k:9092?topic=", "empty topic"),
            ("kafka://k:9092?bootstrap.servers=x:1", "host list"),
        ] {
            let err = KafkaConfig::from_url(url).unwrap_err().to_string();
            assert!(err.contains(needle), "{url}: {err}");
        }
    }
}
