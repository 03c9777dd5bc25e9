//! A message sender that keeps what it was asked to send, for tests of the
//! outbox relay.

use std::sync::Mutex;

/// Records each message as (recipient, text) and reports success.
#[derive(Default)]
pub struct RecordingSender {
    pub sent: Mutex<Vec<(String, String)>>,
}

impl RecordingSender {
    /// What was sent so far.
    pub fn sent(&self) -> Vec<(String, String)> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl app::notify::Sender for RecordingSender {
    async fn send(&self, to: &str, text: &str, _payload: &serde_json::Value) -> Result<(), String> {
        self.sent
            .lock()
            .unwrap()
            .push((to.to_string(), text.to_string()));
        Ok(())
    }
}
