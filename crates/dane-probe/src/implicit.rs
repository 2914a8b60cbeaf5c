//! Implicit TLS with no application dialogue (HTTPS and plain TLS on any port): the
//! handshake starts at once and the probe ends after it.

use crate::dialogue::{Action, Dialogue};
use crate::outcome::{Phase, ProbeOutcome};
use crate::transcript::Transcript;

/// TLS from the first byte and no application dialogue.
#[derive(Debug)]
pub(crate) struct ImplicitTls {
    tls: bool,
}

impl ImplicitTls {
    pub(crate) fn new() -> Self {
        ImplicitTls { tls: false }
    }
}

impl Dialogue for ImplicitTls {
    fn start(&mut self, _: &mut Transcript) -> Action {
        Action::StartTls
    }

    fn receive(&mut self, _: &[u8], _: &mut Transcript) -> Result<Action, ProbeOutcome> {
        Ok(if self.tls {
            Action::Done
        } else {
            Action::StartTls
        })
    }

    fn tls_established(&mut self, _: &mut Transcript) -> Action {
        self.tls = true;
        Action::Done
    }

    fn phase(&self) -> Phase {
        if self.tls {
            Phase::AfterHandshake
        } else {
            Phase::Handshake
        }
    }

    fn capabilities(&self) -> Vec<String> {
        Vec::new()
    }

    fn capabilities_after_tls(&self) -> Vec<String> {
        Vec::new()
    }
}
