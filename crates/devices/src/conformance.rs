//! The conformance suite: drives one real device (or a simulated one) on
//! the broker through every case of the protocol 1.0 contract
//! (`docs/devices.md`) and reports pass or fail per case, as text or JSON a
//! vendor can attach to a certification.
//!
//! The suite speaks as the server: it logs in with a login that may publish
//! on `cmd` topics, signs its commands with the device's command key, and
//! reads the device's `ack` and `state` topics. Two cases need the device
//! switched off and on again (command memory across a reboot, delivery of
//! commands published while it was away); an [`Operator`] does that — a
//! person prompted on the terminal, or a test restarting the simulator.

use crate::auth::{self, CommandKey};
use crate::mqtt::{self, BrokerConfig, MqttError};
use crate::{
    Ack, Channel, Command, DeviceKind, DeviceState, Operation, Outcome, PAYLOAD_BYTES_MAX,
    SEGMENTS_MAX, reasons, topic,
};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Messages from the device the suite holds before reading them.
const MESSAGES_QUEUED_MAX: usize = 1024;

/// Who switches the device off and on for the reboot and reconnect cases.
pub trait Operator: Send + Sync {
    /// Cut the device's power (or its network); the suite then waits until
    /// the broker reports it offline.
    fn power_off(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// Give it back; the suite then waits for its `online` state.
    fn power_on(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// An operator at a terminal: each step is a line on standard error.
pub struct PromptOperator;

impl Operator for PromptOperator {
    fn power_off(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {
            eprintln!(
                "conformance: switch the device OFF now (cut its power); waiting for the broker to report it offline"
            );
        })
    }

    fn power_on(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {
            eprintln!("conformance: switch the device ON again now; waiting for it to come back");
        })
    }
}

#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The broker and a login allowed to publish commands (the server's).
    pub broker: BrokerConfig,
    pub station_id: i64,
    /// `door` or `lights`.
    pub kind: DeviceKind,
    pub device_id: String,
    /// The device's command key (derived from the server's device key, or
    /// read from its provisioning file).
    pub command_key: CommandKey,
    /// How long a device may take to answer a command.
    pub answer_within: Duration,
    /// How long a device must stay silent where it must not answer.
    pub silence: Duration,
    /// How long to wait for the device to go offline or come back online
    /// around a power cycle (the broker notices a dead connection after
    /// about 1.5 keep-alives).
    pub power_cycle_within: Duration,
}

impl SuiteConfig {
    pub fn new(
        broker: BrokerConfig,
        station_id: i64,
        kind: DeviceKind,
        device_id: &str,
        command_key: CommandKey,
    ) -> SuiteConfig {
        SuiteConfig {
            broker,
            station_id,
            kind,
            device_id: device_id.to_string(),
            command_key,
            answer_within: Duration::from_secs(5),
            silence: Duration::from_secs(2),
            power_cycle_within: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not run (no operator for a power cycle, or an earlier step failed).
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// Stable name of the case, e.g. `duplicate`.
    pub case: String,
    /// What the contract requires, in one line.
    pub requirement: String,
    pub verdict: Verdict,
    /// What was seen.
    pub detail: String,
    pub elapsed_ms: u64,
}

/// The whole run: attach [`Report::to_text`] or the JSON to a certification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub protocol: String,
    pub station_id: i64,
    pub kind: String,
    pub device_id: String,
    /// The model and firmware the device's state named, if it did.
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub started_at: String,
    pub cases: Vec<CaseResult>,
    /// True when every case passed (none failed and none was skipped).
    pub passed: bool,
}

impl Report {
    pub fn case(&self, name: &str) -> Option<&CaseResult> {
        self.cases.iter().find(|case| case.case == name)
    }

    pub fn to_text(&self) -> String {
        let mut text = format!(
            "yizhan device protocol {} conformance\nstation {} {} {} (model {}, firmware {})\nstarted {}\n\n",
            self.protocol,
            self.station_id,
            self.kind,
            self.device_id,
            self.model.as_deref().unwrap_or("not stated"),
            self.firmware.as_deref().unwrap_or("not stated"),
            self.started_at,
        );
        for case in &self.cases {
            let word = match case.verdict {
                Verdict::Pass => "PASS",
                Verdict::Fail => "FAIL",
                Verdict::Skipped => "SKIP",
            };
            text.push_str(&format!(
                "{word}  {:<18} {} — {} ({} ms)\n",
                case.case, case.requirement, case.detail, case.elapsed_ms
            ));
        }
        let n_passed = self
            .cases
            .iter()
            .filter(|case| case.verdict == Verdict::Pass)
            .count();
        text.push_str(&format!(
            "\n{} of {} cases passed: {}\n",
            n_passed,
            self.cases.len(),
            if self.passed {
                "CONFORMS"
            } else {
                "DOES NOT CONFORM"
            }
        ));
        text
    }
}

/// When the door closes again, or when segment 1 goes dark: a device that
/// acts on a command again publishes a later time.
fn acted_marker(state: &DeviceState) -> Option<u64> {
    if state.open == Some(true) {
        return state.open_until_ms;
    }
    state
        .lit
        .as_ref()?
        .iter()
        .find(|group| group.segments.contains(&1))
        .map(|group| group.until_ms)
}

/// What the device published, as the suite saw it.
#[derive(Debug)]
enum Heard {
    Ack(Result<Ack, String>),
    State(Result<DeviceState, String>),
}

struct Suite {
    config: SuiteConfig,
    client: AsyncClient,
    heard: mpsc::Receiver<Heard>,
    command_topic: String,
    /// Unique per run, so ids never meet an earlier run's in the device's
    /// memory.
    run: String,
    last_state: Option<DeviceState>,
}

fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

/// Runs every case against the device and returns the report. `operator`
/// none: the power-cycle cases are skipped (and the report does not pass).
/// Fails only when the broker cannot be reached.
pub async fn run(
    config: SuiteConfig,
    operator: Option<&dyn Operator>,
) -> Result<Report, MqttError> {
    let started_at = chrono::Utc::now().to_rfc3339();
    let run_id = format!("{:x}", now_ms());
    let (client, mut eventloop) = mqtt::connect(
        &config.broker,
        &format!("yizhan-conformance-{}-{run_id}", std::process::id()),
        Duration::from_secs(10),
        None,
    )?;
    let ack_topic = topic(
        config.station_id,
        config.kind,
        &config.device_id,
        Channel::Ack,
    );
    let state_topic = topic(
        config.station_id,
        config.kind,
        &config.device_id,
        Channel::State,
    );
    let (heard_sender, heard) = mpsc::channel(MESSAGES_QUEUED_MAX);
    let (ready_sender, mut ready) = tokio::sync::watch::channel(None::<Result<(), String>>);
    let subscriber = client.clone();
    let (ack_filter, state_filter) = (ack_topic.clone(), state_topic.clone());
    let pump = tokio::spawn(async move {
        let mut n_subacks = 0;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    n_subacks = 0;
                    let _ = subscriber.try_subscribe(ack_filter.clone(), QoS::AtLeastOnce);
                    let _ = subscriber.try_subscribe(state_filter.clone(), QoS::AtLeastOnce);
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    n_subacks += 1;
                    if n_subacks == 2 {
                        let _ = ready_sender.send(Some(Ok(())));
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    let payload = &publish.payload;
                    let heard = if publish.topic == ack_filter {
                        Heard::Ack(Ack::parse(payload).map_err(|error| error.to_string()))
                    } else if payload.is_empty() {
                        // A cleared retained state: nothing to learn.
                        continue;
                    } else {
                        Heard::State(
                            serde_json::from_slice::<DeviceState>(payload)
                                .map_err(|error| error.to_string())
                                .and_then(|state| {
                                    if payload.len() > PAYLOAD_BYTES_MAX {
                                        Err(format!("{} bytes, over the limit", payload.len()))
                                    } else {
                                        Ok(state)
                                    }
                                }),
                        )
                    };
                    if heard_sender.send(heard).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    let _ = ready_sender.send(Some(Err(error.to_string())));
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });
    if let Err(error) = mqtt::await_ready(&mut ready, &config.broker.url).await {
        pump.abort();
        return Err(error);
    }
    let mut suite = Suite {
        command_topic: topic(
            config.station_id,
            config.kind,
            &config.device_id,
            Channel::Command,
        ),
        config,
        client,
        heard,
        run: run_id,
        last_state: None,
    };
    let cases = suite.run_cases(operator).await;
    pump.abort();
    let passed = cases.iter().all(|case| case.verdict == Verdict::Pass);
    let state = suite.last_state.clone().unwrap_or_default();
    Ok(Report {
        protocol: crate::PROTOCOL_VERSION.into(),
        station_id: suite.config.station_id,
        kind: suite.config.kind.code().into(),
        device_id: suite.config.device_id.clone(),
        model: state.model,
        firmware: state.firmware,
        started_at,
        cases,
        passed,
    })
}

/// One case's result, timed.
struct Case {
    name: &'static str,
    requirement: &'static str,
    started: Instant,
}

impl Case {
    fn new(name: &'static str, requirement: &'static str) -> Case {
        Case {
            name,
            requirement,
            started: Instant::now(),
        }
    }

    fn end(self, result: Result<String, String>) -> CaseResult {
        let (verdict, detail) = match result {
            Ok(detail) => (Verdict::Pass, detail),
            Err(detail) => (Verdict::Fail, detail),
        };
        self.with(verdict, detail)
    }

    fn with(self, verdict: Verdict, detail: String) -> CaseResult {
        CaseResult {
            case: self.name.into(),
            requirement: self.requirement.into(),
            verdict,
            detail,
            elapsed_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl Suite {
    fn id(&self, case: &str) -> String {
        format!("conf-{}-{case}", self.run)
    }

    /// The operation this kind of device acts on visibly.
    fn action(&self) -> Operation {
        match self.config.kind {
            DeviceKind::Door => Operation::Open { hold_ms: 3_000 },
            _ => Operation::Light {
                colour: "#00c853".into(),
                segments: vec![1, 2],
                duration_ms: 60_000,
            },
        }
    }

    fn command(&self, case: &str, valid_for: Duration, op: Operation) -> Command {
        let now = now_ms();
        Command {
            command_id: self.id(case),
            not_after_ms: now + u64::try_from(valid_for.as_millis()).unwrap_or(u64::MAX),
            server_ms: Some(now),
            op,
        }
    }

    fn sign(&self, payload: &[u8]) -> Vec<u8> {
        auth::sign_command(&self.config.command_key, &self.command_topic, payload)
    }

    async fn publish(&self, signed: Vec<u8>) -> Result<(), String> {
        self.client
            .publish(self.command_topic.clone(), QoS::AtLeastOnce, false, signed)
            .await
            .map_err(|error| format!("could not publish: {error}"))
    }

    /// Sends `command`, signed, and returns the device's ack for it and
    /// the states it published meanwhile.
    async fn ask(&mut self, command: &Command) -> Result<(Ack, Vec<DeviceState>), String> {
        self.publish(self.sign(&command.to_payload())).await?;
        self.ack_for(&command.command_id, self.config.answer_within)
            .await
    }

    /// Waits up to `within` for the ack of `command_id`, collecting states.
    async fn ack_for(
        &mut self,
        command_id: &str,
        within: Duration,
    ) -> Result<(Ack, Vec<DeviceState>), String> {
        let deadline = tokio::time::Instant::now() + within;
        let mut states = Vec::new();
        loop {
            let heard = tokio::time::timeout_at(deadline, self.heard.recv())
                .await
                .map_err(|_| format!("no ack within {} ms", within.as_millis()))?
                .ok_or("the broker connection ended")?;
            match heard {
                Heard::Ack(Ok(ack)) if ack.command_id == command_id => return Ok((ack, states)),
                Heard::Ack(Ok(_)) => {}
                Heard::Ack(Err(error)) => {
                    return Err(format!("an ack that breaks the contract: {error}"));
                }
                Heard::State(Ok(state)) => {
                    self.last_state = Some(state.clone());
                    states.push(state);
                }
                Heard::State(Err(error)) => {
                    return Err(format!("a state that breaks the contract: {error}"));
                }
            }
        }
    }

    /// Nothing at all is acked for `silence`: what a device must do with a
    /// payload it may not answer.
    async fn expect_silence(&mut self) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + self.config.silence;
        while let Ok(heard) = tokio::time::timeout_at(deadline, self.heard.recv()).await {
            match heard.ok_or("the broker connection ended")? {
                Heard::Ack(Ok(ack)) => {
                    return Err(format!(
                        "the device answered {:?} for {}",
                        ack.outcome, ack.command_id
                    ));
                }
                Heard::Ack(Err(error)) => {
                    return Err(format!("an ack that breaks the contract: {error}"));
                }
                Heard::State(Ok(state)) => self.last_state = Some(state),
                Heard::State(Err(error)) => {
                    return Err(format!("a state that breaks the contract: {error}"));
                }
            }
        }
        Ok(())
    }

    /// Silence, then proof the device still works: a `status` acked `done`.
    async fn dropped_and_alive(&mut self, case: &str) -> Result<String, String> {
        self.expect_silence().await?;
        let status = self.command(
            &format!("{case}-after"),
            Duration::from_secs(30),
            Operation::Status,
        );
        match self.ask(&status).await? {
            (ack, _) if ack.outcome == Outcome::Done => Ok(format!(
                "no ack within {} ms; a status afterwards was done",
                self.config.silence.as_millis()
            )),
            (ack, _) => Err(format!("a status afterwards was {:?}", ack.outcome)),
        }
    }

    fn expect(ack: &Ack, outcome: Outcome, reason_starts: Option<&str>) -> Result<String, String> {
        if ack.outcome != outcome {
            return Err(format!(
                "acked {:?} (reason {:?}), expected {:?}",
                ack.outcome, ack.reason, outcome
            ));
        }
        if let Some(word) = reason_starts
            && !ack.reason.as_deref().unwrap_or("").starts_with(word)
        {
            return Err(format!(
                "acked {:?} with reason {:?}, expected a reason starting {word:?}",
                ack.outcome, ack.reason
            ));
        }
        Ok(match &ack.reason {
            Some(reason) => format!("acked {:?}: {reason}", ack.outcome).to_lowercase(),
            None => format!("acked {:?}", ack.outcome).to_lowercase(),
        })
    }

    /// Waits until the device's state says `online` is `online`.
    async fn await_online(&mut self, online: bool) -> Result<(), String> {
        let within = self.config.power_cycle_within;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let heard = tokio::time::timeout_at(deadline, self.heard.recv())
                .await
                .map_err(|_| {
                    format!(
                        "the device's state did not say online: {online} within {} s",
                        within.as_secs()
                    )
                })?
                .ok_or("the broker connection ended")?;
            if let Heard::State(Ok(state)) = heard {
                let now_online = state.online;
                self.last_state = Some(state);
                if now_online == online {
                    return Ok(());
                }
            }
        }
    }

    async fn run_cases(&mut self, operator: Option<&dyn Operator>) -> Vec<CaseResult> {
        let mut results = Vec::new();
        let kind = self.config.kind;

        // status: state first, then the ack.
        let case = Case::new("status", "`status` publishes the state, then acks done");
        let status = self.command("status", Duration::from_secs(30), Operation::Status);
        let result = match self.ask(&status).await {
            Ok((ack, states)) => {
                Self::expect(&ack, Outcome::Done, None).and_then(|said| match states.last() {
                    Some(state) if state.online => Ok(format!("{said}; state published before it")),
                    Some(_) => Err("the state published says online: false".into()),
                    None => Err(format!("{said}, but no state was published before the ack")),
                })
            }
            Err(error) => Err(error),
        };
        results.push(case.end(result));

        // The action, valid long enough to be replayed after a reboot.
        let action_name = match kind {
            DeviceKind::Door => "open",
            _ => "light",
        };
        let case = Case::new(
            action_name,
            match kind {
                DeviceKind::Door => "`open` opens the door, publishes open: true, acks done",
                _ => "`light` lights the segments, publishes them lit, acks done",
            },
        );
        let action = self.command(action_name, Duration::from_secs(600), self.action());
        let action_payload = self.sign(&action.to_payload());
        let result = match self.ask(&action).await {
            Ok((ack, states)) => Self::expect(&ack, Outcome::Done, None).and_then(|said| {
                let shown = states.iter().any(|state| match &action.op {
                    Operation::Open { .. } => state.open == Some(true),
                    Operation::Light { segments, .. } => state.lit.as_ref().is_some_and(|lit| {
                        segments
                            .iter()
                            .all(|s| lit.iter().any(|group| group.segments.contains(s)))
                    }),
                    _ => false,
                });
                if shown {
                    Ok(format!("{said}; the state shows it"))
                } else {
                    Err(format!("{said}, but no state before the ack shows it"))
                }
            }),
            Err(error) => Err(error),
        };
        let action_done = result.is_ok();
        let acted = self.last_state.as_ref().and_then(acted_marker);
        results.push(case.end(result));

        let case = Case::new(
            "duplicate",
            "the same command again does not act again and acks duplicate",
        );
        let result = match self.publish(action_payload.clone()).await {
            Ok(()) => match self
                .ack_for(&action.command_id, self.config.answer_within)
                .await
            {
                Ok((ack, states)) => {
                    Self::expect(&ack, Outcome::Duplicate, None).and_then(|said| {
                        let again = states
                            .iter()
                            .filter_map(acted_marker)
                            .any(|marker| Some(marker) != acted);
                        if again {
                            Err(format!("{said}, but its state shows it acted again"))
                        } else {
                            Ok(said)
                        }
                    })
                }
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        results.push(case.end(result));

        if kind == DeviceKind::Lights {
            let case = Case::new("off", "`off` darkens the named segments, acks done");
            let off = self.command(
                "off",
                Duration::from_secs(30),
                Operation::Off { segments: vec![1] },
            );
            let result = match self.ask(&off).await {
                Ok((ack, states)) => Self::expect(&ack, Outcome::Done, None).and_then(|said| {
                    let dark = states.last().is_some_and(|state| {
                        state
                            .lit
                            .as_ref()
                            .is_some_and(|lit| lit.iter().all(|group| !group.segments.contains(&1)))
                    });
                    if dark {
                        Ok(format!("{said}; segment 1 no longer lit"))
                    } else {
                        Err(format!("{said}, but no state shows segment 1 dark"))
                    }
                }),
                Err(error) => Err(error),
            };
            results.push(case.end(result));

            let case = Case::new(
                "segments_256",
                "a `light` naming 256 segments (the most) is done",
            );
            let all = self.command(
                "segments-256",
                Duration::from_secs(30),
                Operation::Light {
                    colour: "#2962FF".into(),
                    segments: (1..=SEGMENTS_MAX as u32).collect(),
                    duration_ms: 5_000,
                },
            );
            let result = match self.ask(&all).await {
                Ok((ack, _)) => Self::expect(&ack, Outcome::Done, None),
                Err(error) => Err(error),
            };
            results.push(case.end(result));

            let case = Case::new("all_off", "`all_off` darkens everything, acks done");
            let all_off = self.command("all-off", Duration::from_secs(30), Operation::AllOff);
            let result = match self.ask(&all_off).await {
                Ok((ack, _)) => Self::expect(&ack, Outcome::Done, None),
                Err(error) => Err(error),
            };
            results.push(case.end(result));
        }

        let case = Case::new(
            "expired",
            "a command past its not_after_ms does not act and acks expired",
        );
        let mut late = self.command("expired", Duration::ZERO, self.action());
        late.not_after_ms = now_ms().saturating_sub(10_000);
        let result = match self.ask(&late).await {
            Ok((ack, _)) => Self::expect(&ack, Outcome::Expired, None),
            Err(error) => Err(error),
        };
        results.push(case.end(result));

        let case = Case::new(
            "clock_behind",
            "a command stamped further ahead than the tolerated skew acks failed clock_behind",
        );
        let mut ahead = self.command("clock", Duration::from_secs(120), self.action());
        ahead.server_ms = Some(now_ms() + 60_000);
        let result = match self.ask(&ahead).await {
            Ok((ack, _)) => Self::expect(&ack, Outcome::Failed, Some(reasons::CLOCK_BEHIND)),
            Err(error) => Err(error),
        };
        results.push(case.end(result));

        let case = Case::new("unknown_op", "an unknown op acks failed unknown_op");
        let unknown = format!(
            r#"{{"command_id":"{}","not_after_ms":{},"server_ms":{},"op":"self_destruct","countdown_s":10}}"#,
            self.id("unknown-op"),
            now_ms() + 30_000,
            now_ms()
        );
        let result = match self.publish(self.sign(unknown.as_bytes())).await {
            Ok(()) => match self
                .ack_for(&self.id("unknown-op"), self.config.answer_within)
                .await
            {
                Ok((ack, _)) => Self::expect(&ack, Outcome::Failed, Some(reasons::UNKNOWN_OP)),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        results.push(case.end(result));

        let case = Case::new(
            "wrong_kind",
            "an op for another kind of device acks failed wrong_kind",
        );
        let other = match kind {
            DeviceKind::Door => Operation::AllOff,
            _ => Operation::Open { hold_ms: 1_000 },
        };
        let wrong = self.command("wrong-kind", Duration::from_secs(30), other);
        let result = match self.ask(&wrong).await {
            Ok((ack, _)) => Self::expect(&ack, Outcome::Failed, Some(reasons::WRONG_KIND)),
            Err(error) => Err(error),
        };
        results.push(case.end(result));

        let case = Case::new(
            "unknown_field",
            "fields the device does not know are ignored",
        );
        let extra = format!(
            r#"{{"command_id":"{}","not_after_ms":{},"server_ms":{},"priority":"high","trace":{{"hops":[1,2]}},"op":"status"}}"#,
            self.id("unknown-field"),
            now_ms() + 30_000,
            now_ms()
        );
        let result = match self.publish(self.sign(extra.as_bytes())).await {
            Ok(()) => match self
                .ack_for(&self.id("unknown-field"), self.config.answer_within)
                .await
            {
                Ok((ack, _)) => Self::expect(&ack, Outcome::Done, None),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        results.push(case.end(result));

        let case = Case::new(
            "malformed",
            "a payload that is not JSON gets no ack; the device keeps working",
        );
        let result = match self.publish(self.sign(b"{this is not json}")).await {
            Ok(()) => self.dropped_and_alive("malformed").await,
            Err(error) => Err(error),
        };
        results.push(case.end(result));

        let case = Case::new(
            "oversized",
            "a payload over 4096 bytes gets no ack and does not act; the device keeps working",
        );
        let padding = "x".repeat(PAYLOAD_BYTES_MAX);
        let big = format!(
            r#"{{"command_id":"{}","not_after_ms":{},"server_ms":{},"padding":"{padding}","op":"status"}}"#,
            self.id("oversized"),
            now_ms() + 30_000,
            now_ms()
        );
        let result = match self.publish(self.sign(big.as_bytes())).await {
            Ok(()) => self.dropped_and_alive("oversized").await,
            Err(error) => Err(error),
        };
        results.push(case.end(result));

        let case = Case::new(
            "bad_mac",
            "a command signed with another key gets no ack and does not act",
        );
        let forged_key = auth::ServerDeviceKey::new(b"not the server".to_vec()).device_key(
            self.config.station_id,
            kind,
            &self.config.device_id,
        );
        let forged = self.command("bad-mac", Duration::from_secs(30), self.action());
        let forged = auth::sign_command(&forged_key, &self.command_topic, &forged.to_payload());
        let result = match self.publish(forged).await {
            Ok(()) => self.dropped_and_alive("bad-mac").await,
            Err(error) => Err(error),
        };
        results.push(case.end(result));

        results.extend(
            self.power_cycle(operator, &action, action_payload, action_done)
                .await,
        );
        results
    }

    /// Switches the device off; while it is away publishes a fresh command
    /// and the earlier action again; switches it on. The fresh command must
    /// arrive (persistent session), the replay must be a duplicate (memory
    /// that survived the reboot).
    async fn power_cycle(
        &mut self,
        operator: Option<&dyn Operator>,
        action: &Command,
        action_payload: Vec<u8>,
        action_done: bool,
    ) -> Vec<CaseResult> {
        let reconnect = Case::new(
            "reconnect",
            "a command published while the device is off is delivered when it is back",
        );
        let reboot = Case::new(
            "reboot_duplicate",
            "after a reboot, a command acted on before acks duplicate and does not act",
        );
        let Some(operator) = operator else {
            let why =
                "needs someone to switch the device off and on (run without --no-power-cycle)";
            return vec![
                reconnect.with(Verdict::Skipped, why.into()),
                reboot.with(Verdict::Skipped, why.into()),
            ];
        };
        if !action_done {
            let why = "the first command was not done, so there is nothing to replay";
            return vec![
                reconnect.with(Verdict::Skipped, why.into()),
                reboot.with(Verdict::Skipped, why.into()),
            ];
        }
        operator.power_off().await;
        if let Err(error) = self.await_online(false).await {
            return vec![
                reconnect.with(Verdict::Fail, error.clone()),
                reboot.with(Verdict::Fail, error),
            ];
        }
        let queued = self.command(
            "while-off",
            self.config.power_cycle_within * 2,
            Operation::Status,
        );
        let sent = async {
            self.publish(self.sign(&queued.to_payload())).await?;
            self.publish(action_payload).await
        }
        .await;
        if let Err(error) = sent {
            return vec![
                reconnect.with(Verdict::Fail, error.clone()),
                reboot.with(Verdict::Fail, error),
            ];
        }
        operator.power_on().await;
        let within = self.config.power_cycle_within;
        // Both answers come after the reboot, in either order.
        let mut queued_ack = None;
        let mut replay_ack = None;
        let mut error = None;
        let deadline = tokio::time::Instant::now() + within;
        while queued_ack.is_none() || replay_ack.is_none() {
            match tokio::time::timeout_at(deadline, self.heard.recv()).await {
                Ok(Some(Heard::Ack(Ok(ack)))) if ack.command_id == queued.command_id => {
                    queued_ack = Some(ack)
                }
                Ok(Some(Heard::Ack(Ok(ack)))) if ack.command_id == action.command_id => {
                    replay_ack = Some(ack)
                }
                Ok(Some(Heard::Ack(Ok(_)))) => {}
                Ok(Some(Heard::State(Ok(state)))) => self.last_state = Some(state),
                Ok(Some(Heard::Ack(Err(bad)) | Heard::State(Err(bad)))) => {
                    error = Some(format!("a message that breaks the contract: {bad}"));
                    break;
                }
                Ok(None) => {
                    error = Some("the broker connection ended".into());
                    break;
                }
                Err(_) => break,
            }
        }
        let missing = |what: &str| {
            error.clone().unwrap_or_else(|| {
                format!(
                    "no ack for the {what} within {} s of switching on",
                    within.as_secs()
                )
            })
        };
        vec![
            reconnect.end(match &queued_ack {
                Some(ack) => Self::expect(ack, Outcome::Done, None),
                None => Err(missing("command published while it was off")),
            }),
            reboot.end(match &replay_ack {
                Some(ack) => Self::expect(ack, Outcome::Duplicate, None),
                None => Err(missing("replayed command")),
            }),
        ]
    }
}
