//! Configuration: defaults, then `yizhan.toml` (or `--config`), then
//! `YIZHAN_*` environment variables (`YIZHAN_DATABASE__URL=postgres://…`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub notify: NotifyConfig,
    pub devices: DevicesConfig,
    pub web: WebConfig,
    pub webhooks: WebhooksConfig,
    pub dispatch: DispatchConfig,
    pub keys: KeysConfig,
    pub retention: RetentionConfig,
    pub approvals: ApprovalsConfig,
    // Seeing (issue 16, branch board): group robots, /metrics, the daily report.
    pub bots: std::collections::BTreeMap<String, BotConfig>,
    pub metrics: MetricsConfig,
    pub report: ReportConfig,
    // Sending (issue 14, session 10): the tariff file and the carrier.
    #[serde(default)]
    pub sending: SendingConfig,
    // branch money2 (issue 15, session 10): invoice reminders.
    #[serde(default)]
    pub finance: FinanceConfig,
}

/// Sending (docs/sending.md, "The tariff"): the tariff in force and the
/// carrier whose waybill pool sending orders draw from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendingConfig {
    /// A tariff TOML file (versions, zones, weights, surcharges); none:
    /// the one shipped in `crates/domain/tariffs/default.toml`. Read and
    /// checked at start: a broken file stops the start with its reason.
    pub tariff_file: Option<std::path::PathBuf>,
    /// The carrier's code (`EMS`, …).
    pub carrier: String,
}

impl Default for SendingConfig {
    fn default() -> Self {
        SendingConfig {
            tariff_file: None,
            carrier: app::sending::SendingSettings::default()
                .carrier
                .code()
                .to_string(),
        }
    }
}

impl SendingConfig {
    /// The carrier and the tariff, read and checked.
    pub fn settings(&self) -> anyhow::Result<(domain::Carrier, Option<domain::sending::Tariff>)> {
        let carrier = domain::Carrier::parse(&self.carrier)
            .map_err(|error| anyhow::anyhow!("sending.carrier: {error}"))?;
        let tariff = match &self.tariff_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| {
                    anyhow::anyhow!("sending.tariff_file {}: {error}", path.display())
                })?;
                Some(domain::sending::Tariff::parse_toml(&text).map_err(|error| {
                    anyhow::anyhow!("sending.tariff_file {}: {error}", path.display())
                })?)
            }
            None => None,
        };
        Ok((carrier, tariff))
    }
}

/// Money (issue 15): when invoice reminders go to the person chasing a
/// debt, in days relative to the due day (negative: before it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinanceConfig {
    pub reminder_days: Vec<i64>,
    /// The county manager's mobile number, told when a carrier passes its
    /// credit limit or owes over 90 days.
    #[serde(default)]
    pub manager_phone: Option<String>,
}

impl Default for FinanceConfig {
    fn default() -> Self {
        FinanceConfig {
            reminder_days: domain::collection::REMINDER_STEPS_DEFAULT.to_vec(),
            manager_phone: None,
        }
    }
}

impl FinanceConfig {
    pub fn reminder_days(&self) -> anyhow::Result<Vec<i64>> {
        anyhow::ensure!(
            self.reminder_days.len() <= 20
                && self.reminder_days.iter().all(|d| (-60..=365).contains(d)),
            "finance.reminder_days must be at most 20 days, each -60 to 365"
        );
        let mut days = self.reminder_days.clone();
        days.sort_unstable();
        days.dedup();
        Ok(days)
    }

    /// The manager's number, whole and normalised, if set.
    pub fn manager_phone(&self) -> anyhow::Result<Option<String>> {
        match self.manager_phone.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => match domain::Phone::parse(text) {
                Ok(phone) if phone.is_reachable() => Ok(Some(phone.full())),
                _ => anyhow::bail!("finance.manager_phone must be an 11-digit mobile number"),
            },
        }
    }
}

/// Where a sensitive act needs a second person (maker–checker,
/// docs/security.md "Maker–checker").
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApprovalsConfig {
    /// An export over more days than this needs approval.
    pub export_days_max: i64,
    /// Whole phones one person may reveal in a day without approval.
    pub phone_reveals_per_day: u32,
    /// A write-off (核销) of more fen than this needs approval (branch
    /// `claims`).
    #[serde(default = "write_off_fen_max")]
    pub write_off_fen_max: i64,
}

fn write_off_fen_max() -> i64 {
    domain::approval::WRITE_OFF_FEN_MAX_DEFAULT
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        let d = domain::approval::Thresholds::default();
        ApprovalsConfig {
            export_days_max: d.export_days_max,
            phone_reveals_per_day: d.phone_reveals_per_day,
            write_off_fen_max: d.write_off_fen_max,
        }
    }
}

impl ApprovalsConfig {
    pub fn thresholds(&self) -> anyhow::Result<domain::approval::Thresholds> {
        anyhow::ensure!(
            (1..=366).contains(&self.export_days_max),
            "approvals.export_days_max must be 1 to 366 days"
        );
        anyhow::ensure!(
            (1..=10_000).contains(&self.phone_reveals_per_day),
            "approvals.phone_reveals_per_day must be 1 to 10000"
        );
        anyhow::ensure!(
            (0..=domain::ledger::AMOUNT_MAX.0).contains(&self.write_off_fen_max),
            "approvals.write_off_fen_max must be 0 to {} fen",
            domain::ledger::AMOUNT_MAX.0
        );
        Ok(domain::approval::Thresholds {
            export_days_max: self.export_days_max,
            write_off_fen_max: self.write_off_fen_max,
            phone_reveals_per_day: self.phone_reveals_per_day,
            ..domain::approval::Thresholds::default()
        })
    }
}

/// Where the key file is (`YIZHAN_KEYS_FILE` overrides `keys.file`;
/// `YIZHAN_KEYS_JSON` may carry the document itself).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeysConfig {
    pub file: Option<std::path::PathBuf>,
}

/// How long personal data and short-lived rows are kept, in days
/// (docs/privacy.md), and how often `serve` runs retention.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetentionConfig {
    pub parcel_days: u32,
    pub code_attempt_days: u32,
    pub device_command_days: u32,
    pub pickup_session_days: u32,
    pub expired_token_days: u32,
    pub sent_message_days: u32,
    #[serde(default = "default_send_address_days")]
    pub send_address_days: u32,
    #[serde(default = "default_send_photo_days")]
    pub send_photo_days: u32,
    pub every_minutes: u64,
}

// Added in session 10: a `yizhan.toml` written before has no such keys.
fn default_send_address_days() -> u32 {
    app::retention::RetentionSettings::default().send_address_days
}

fn default_send_photo_days() -> u32 {
    app::retention::RetentionSettings::default().send_photo_days
}

impl Default for RetentionConfig {
    fn default() -> Self {
        let d = app::retention::RetentionSettings::default();
        RetentionConfig {
            parcel_days: d.parcel_days,
            code_attempt_days: d.code_attempt_days,
            device_command_days: d.device_command_days,
            pickup_session_days: d.pickup_session_days,
            expired_token_days: d.expired_token_days,
            sent_message_days: d.sent_message_days,
            send_address_days: d.send_address_days,
            send_photo_days: d.send_photo_days,
            every_minutes: 60,
        }
    }
}

impl RetentionConfig {
    pub fn settings(&self) -> anyhow::Result<app::retention::RetentionSettings> {
        for (name, days) in [
            ("parcel_days", self.parcel_days),
            ("code_attempt_days", self.code_attempt_days),
            ("device_command_days", self.device_command_days),
            ("pickup_session_days", self.pickup_session_days),
            ("expired_token_days", self.expired_token_days),
            ("sent_message_days", self.sent_message_days),
            ("send_address_days", self.send_address_days),
            ("send_photo_days", self.send_photo_days),
        ] {
            anyhow::ensure!(
                (1..=3650).contains(&days),
                "retention.{name} must be 1 to 3650 days"
            );
        }
        anyhow::ensure!(
            (1..=1440).contains(&self.every_minutes),
            "retention.every_minutes must be 1 to 1440"
        );
        Ok(app::retention::RetentionSettings {
            parcel_days: self.parcel_days,
            code_attempt_days: self.code_attempt_days,
            device_command_days: self.device_command_days,
            pickup_session_days: self.pickup_session_days,
            expired_token_days: self.expired_token_days,
            sent_message_days: self.sent_message_days,
            send_address_days: self.send_address_days,
            send_photo_days: self.send_photo_days,
        })
    }
}

/// Route planning for the county's vehicles.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DispatchConfig {
    /// A plan's search stops after this many seconds even if its iteration
    /// budget is not spent.
    pub solve_seconds_max: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevicesConfig {
    /// The MQTT broker the stations' devices use; none: no devices.
    /// `mqtts://` connects with TLS (docs/devices.md).
    pub mqtt_url: Option<String>,
    /// The server's broker login (`yizhan devices server-login` makes one);
    /// none: connect anonymously (the demo's embedded broker only).
    pub mqtt_username: Option<String>,
    pub mqtt_password: Option<String>,
    /// The CA certificate (PEM file) that signed the broker's certificate;
    /// needed for `mqtts://`.
    pub mqtt_ca_file: Option<std::path::PathBuf>,
    /// A door whose sensor says open for longer than this alerts the
    /// keeper (docs/devices.md, "Server behaviour").
    #[serde(default = "door_open_alert_seconds")]
    pub door_open_alert_seconds: u64,
}

fn door_open_alert_seconds() -> u64 {
    180
}

impl DevicesConfig {
    /// The broker as the bridge connects to it; `None` without a URL.
    pub fn broker(&self) -> anyhow::Result<Option<devices::mqtt::BrokerConfig>> {
        use anyhow::Context;
        let Some(url) = &self.mqtt_url else {
            return Ok(None);
        };
        devices::mqtt::parse_broker_url(url)?;
        let mut broker = devices::mqtt::BrokerConfig::open(url);
        match (&self.mqtt_username, &self.mqtt_password) {
            (Some(username), Some(password)) => broker = broker.with_login(username, password),
            (None, None) => {}
            _ => anyhow::bail!(
                "devices.mqtt_username and devices.mqtt_password go together; set both or neither"
            ),
        }
        if let Some(path) = &self.mqtt_ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading devices.mqtt_ca_file {}", path.display()))?;
            broker = broker.with_ca(pem);
        }
        Ok(Some(broker))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebConfig {
    /// Where customers reach the server (links in messages).
    pub public_url: Option<String>,
    /// Mark cookies `Secure`. Unset: on exactly when `public_url` is
    /// `https://…` (the usual deployment behind a TLS proxy); set it to
    /// turn that off or on explicitly.
    pub secure_cookies: Option<bool>,
}

impl WebConfig {
    /// Customers reach the server over HTTPS (`public_url` says so): cookies
    /// are `Secure` by default and answers carry HSTS.
    pub fn https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.trim().to_ascii_lowercase().starts_with("https://"))
    }

    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| self.https())
    }
}

/// Tracking back to carriers: how deliveries are retried and sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhooksConfig {
    /// Attempts in all before a delivery is marked failed.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles per attempt, with jitter.
    pub base_seconds: i64,
    /// No delay grows beyond this.
    pub max_delay_seconds: i64,
    /// One POST may take this long before it counts as failed.
    pub timeout_seconds: u64,
    /// How often the relay looks for due deliveries.
    pub relay_every_seconds: u64,
    /// Plain `http://` subscriptions. Off: carriers' endpoints use HTTPS.
    /// `yizhan demo` turns it on for its local receivers.
    pub allow_http: bool,
    /// Internal destinations a webhook may reach after all: CIDR blocks
    /// (`10.8.0.0/16`, `192.168.5.20`) or exact host names
    /// (`gw.zto.internal`) of an on-premises carrier gateway. Everything
    /// else that is, or resolves to, an internal address is refused.
    pub allow: Vec<String>,
    /// A PEM file of extra CA certificates trusted for HTTPS webhooks (a
    /// carrier gateway with a private CA), beside the bundled Mozilla roots.
    pub ca_file: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerConfig {
    pub listen: String,
    /// Reverse proxies whose `X-Forwarded-For` is believed (CIDR blocks or
    /// addresses), so the per-address throttles count clients, not the
    /// proxy (`server::proxy`). Empty: the peer's address is the client's.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifyConfig {
    /// `log` or `webhook`.
    pub sender: String,
    pub webhook_url: Option<String>,
    pub merge_seconds: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: DatabaseConfig {
                url: "sqlite:yizhan-data/yizhan.db".into(),
                max_connections: 8,
            },
            server: ServerConfig {
                listen: "127.0.0.1:8080".into(),
                trusted_proxies: Vec::new(),
            },
            notify: NotifyConfig {
                sender: "log".into(),
                webhook_url: None,
                merge_seconds: 30,
            },
            devices: DevicesConfig {
                mqtt_url: None,
                mqtt_username: None,
                mqtt_password: None,
                mqtt_ca_file: None,
                door_open_alert_seconds: door_open_alert_seconds(),
            },
            web: WebConfig {
                public_url: None,
                secure_cookies: None,
            },
            webhooks: {
                let retry = domain::webhook::RetryPolicy::default();
                WebhooksConfig {
                    max_attempts: retry.max_attempts,
                    base_seconds: retry.base_seconds,
                    max_delay_seconds: retry.max_delay_seconds,
                    timeout_seconds: 10,
                    relay_every_seconds: 5,
                    allow_http: false,
                    allow: Vec::new(),
                    ca_file: None,
                }
            },
            dispatch: DispatchConfig {
                solve_seconds_max: app::Settings::default().dispatch_solve_seconds_max,
            },
            keys: KeysConfig::default(),
            retention: RetentionConfig::default(),
            approvals: ApprovalsConfig::default(),
            bots: std::collections::BTreeMap::new(),
            metrics: MetricsConfig::default(),
            report: ReportConfig::default(),
            sending: SendingConfig::default(),
            finance: FinanceConfig::default(),
        }
    }
}

impl Config {
    pub fn load(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
        use figment::providers::{Env, Format, Serialized, Toml};
        let file = path
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| "yizhan.toml".into());
        let config: Config = figment::Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&file))
            .merge(Env::prefixed("YIZHAN_").split("__").ignore(&[
                "test_database_url",
                "test_mqtt_url",
                "keys_file",
                "keys_json",
            ]))
            .extract()?;
        Ok(config)
    }
}

impl WebhooksConfig {
    pub fn retry_policy(&self) -> anyhow::Result<domain::webhook::RetryPolicy> {
        anyhow::ensure!(
            (1..=100).contains(&self.max_attempts),
            "webhooks.max_attempts must be 1 to 100"
        );
        anyhow::ensure!(
            self.base_seconds >= 1 && self.max_delay_seconds >= self.base_seconds,
            "webhooks.base_seconds must be at least 1 and at most webhooks.max_delay_seconds"
        );
        anyhow::ensure!(
            (1..=120).contains(&self.timeout_seconds),
            "webhooks.timeout_seconds must be 1 to 120"
        );
        Ok(domain::webhook::RetryPolicy {
            max_attempts: self.max_attempts,
            base_seconds: self.base_seconds,
            max_delay_seconds: self.max_delay_seconds,
        })
    }
}

impl WebhooksConfig {
    /// Where webhooks may go, from `allow_http` and `allow`.
    pub fn target_policy(&self) -> anyhow::Result<domain::webhook::TargetPolicy> {
        let allow = self
            .allow
            .iter()
            .map(|entry| domain::webhook::AllowEntry::parse(entry).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(domain::webhook::TargetPolicy {
            allow_http: self.allow_http,
            allow,
        })
    }
}

impl DispatchConfig {
    pub fn solve_seconds_max(&self) -> anyhow::Result<u64> {
        const SOLVE_SECONDS_MAX: u64 = 3600;
        anyhow::ensure!(
            (1..=SOLVE_SECONDS_MAX).contains(&self.solve_seconds_max),
            "dispatch.solve_seconds_max must be 1 to {SOLVE_SECONDS_MAX}"
        );
        Ok(self.solve_seconds_max)
    }
}

/// A database URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}://{user}:***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// One group robot of the managers' chats (`[bots.NAME]`): its platform,
/// its webhook URL (which holds its key) and DingTalk's signing secret.
/// Neither the URL nor the secret is ever printed.
#[derive(Clone, Serialize, Deserialize)]
pub struct BotConfig {
    /// `wecom` or `dingtalk`.
    pub kind: String,
    pub url: String,
    /// DingTalk's 加签 secret (`SEC…`), if the robot signs.
    #[serde(default)]
    pub secret: Option<String>,
}

impl std::fmt::Debug for BotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotConfig")
            .field("kind", &self.kind)
            .field("url", &"(redacted)")
            .field("secret", &self.secret.as_ref().map(|_| "(redacted)"))
            .finish()
    }
}

/// `/metrics` (docs/operations.md): with a token, whoever sends it as a
/// bearer token reads; without one, only this host (loopback).
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct MetricsConfig {
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("token", &self.token.as_ref().map(|_| "(redacted)"))
            .finish()
    }
}

/// The daily report (日报): when `serve` queues yesterday's for the group
/// robot, and which robot gets it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportConfig {
    /// Asia/Shanghai time of day, `HH:MM`.
    pub daily_at: String,
    /// The robot (`[bots.NAME]`) the daily report goes to; none: not pushed.
    pub bot: Option<String>,
    /// `zh` or `en`.
    pub lang: String,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            daily_at: "08:00".into(),
            bot: None,
            lang: "zh".into(),
        }
    }
}

impl ReportConfig {
    /// The time of day, checked.
    pub fn daily_time(&self) -> anyhow::Result<chrono::NaiveTime> {
        chrono::NaiveTime::parse_from_str(self.daily_at.trim(), "%H:%M").map_err(|_| {
            anyhow::anyhow!(
                "report.daily_at must be a time of day as HH:MM (Asia/Shanghai), e.g. \"08:00\""
            )
        })
    }

    pub fn language(&self) -> anyhow::Result<app::Lang> {
        match self.lang.as_str() {
            "zh" => Ok(app::Lang::Zh),
            "en" => Ok(app::Lang::En),
            _ => anyhow::bail!("report.lang must be \"zh\" or \"en\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() {
        assert_eq!(
            redact_url("postgres://yz:s3cret@db:5432/yz"),
            "postgres://yz:***@db:5432/yz"
        );
        assert_eq!(redact_url("sqlite:data/yz.db"), "sqlite:data/yz.db");
    }

    /// Issue 11, finding 12: cookies were not `Secure` unless configured,
    /// even when customers reach the server over HTTPS.
    #[test]
    fn cookies_are_secure_by_default_when_the_public_url_is_https() {
        let web = |public_url: Option<&str>, secure_cookies: Option<bool>| WebConfig {
            public_url: public_url.map(str::to_string),
            secure_cookies,
        };
        assert!(web(Some("https://yz.example.cn/"), None).cookies_secure());
        assert!(web(Some("HTTPS://yz.example.cn/"), None).https());
        assert!(!web(Some("http://192.168.1.5:8080/"), None).cookies_secure());
        assert!(!web(None, None).cookies_secure());
        assert!(!web(Some("https://yz.example.cn/"), Some(false)).cookies_secure());
        assert!(web(None, Some(true)).cookies_secure());
        // The default configuration, and a file that says only the URL.
        assert!(!Config::default().web.cookies_secure());
        let dir = std::env::temp_dir().join(format!("yizhan-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("yizhan.toml");
        std::fs::write(&file, "[web]\npublic_url = \"https://yz.example.cn/\"\n").unwrap();
        let config = Config::load(Some(&file)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(config.web.cookies_secure() && config.web.https());
    }

    /// The README's example configuration is a promise: it parses, and
    /// every value it shows is the default it claims to be.
    #[test]
    fn the_readme_configuration_parses_and_shows_the_defaults() {
        use figment::providers::{Format, Serialized, Toml};
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n")
            .expect("a toml block in the README")
            + 8;
        let block = &readme[start..start + readme[start..].find("```").unwrap()];
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let from_readme: Config = figment::Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(block))
            .extract()
            .unwrap();
        assert_eq!(serde_json::to_value(from_readme).unwrap(), defaults);
        // And the block says something: each of its keys is a real setting.
        let shown: serde_json::Map<String, serde_json::Value> =
            figment::Figment::from(Toml::string(block))
                .extract()
                .unwrap();
        for (section, table) in &shown {
            for key in table.as_object().unwrap().keys() {
                assert!(
                    defaults[section].get(key).is_some(),
                    "README shows {section}.{key}, which is no setting"
                );
            }
        }
    }
}
