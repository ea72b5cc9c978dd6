//! Tokens: agent tokens (shared, or one per client) checked in the Socket.IO handshake,
//! API bearer tokens on HTTP. Optional on loopback; `main` refuses to listen elsewhere
//! without them or with one shorter than [`MIN_TOKEN_CHARS`].

use std::collections::HashMap;

use serde_json::Value;

/// The configured tokens; no agent tokens at all (shared or per client) means agents
/// need none, and no API tokens means the API needs none.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// Accepted in the agents' handshake `auth.token` from any client without a token
    /// of its own (shared tokens).
    pub agent: Vec<String>,
    /// clientId -> the only token that client may connect with.
    pub clients: HashMap<String, String>,
    /// Accepted as `Authorization: Bearer <token>` (or `?token=` on the original endpoints).
    /// At least [`MIN_TOKEN_CHARS`] characters off loopback, as every token.
    pub api: Vec<String>,
}

/// Why an agent's handshake was refused; the message reaches the agent as CONNECT_ERROR.
#[derive(Debug, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken;

/// What an agent proved in its handshake; decides which client ids it may register.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentAuth {
    /// No agent tokens are configured.
    Open,
    /// A shared token: any client without a token of its own.
    Shared,
    /// That client's own token: only that client.
    Client(String),
}

impl Tokens {
    /// True when agents must present a token.
    pub fn agents_need_tokens(&self) -> bool {
        !self.agent.is_empty() || !self.clients.is_empty()
    }

    /// Checks the handshake `auth` object (`{clientId, token}`) of an agent. A client with
    /// a token of its own must use it; a shared token does not open it.
    pub fn check_agent(&self, auth: &Value) -> Result<AgentAuth, InvalidToken> {
        if !self.agents_need_tokens() {
            return Ok(AgentAuth::Open);
        }
        let offered = auth["token"].as_str().unwrap_or_default().as_bytes();
        if let Some((client_id, own)) = auth["clientId"]
            .as_str()
            .and_then(|id| self.clients.get_key_value(id))
        {
            return if constant_time_eq(own.as_bytes(), offered) {
                Ok(AgentAuth::Client(client_id.clone()))
            } else {
                Err(InvalidToken)
            };
        }
        if self
            .agent
            .iter()
            .any(|t| constant_time_eq(t.as_bytes(), offered))
        {
            Ok(AgentAuth::Shared)
        } else {
            Err(InvalidToken)
        }
    }

    /// May a socket authenticated as `auth` register as `client_id`? (`register` carries
    /// the id again; it must not name a client whose own token the socket did not show.)
    pub fn may_register(&self, auth: &AgentAuth, client_id: &str) -> bool {
        match auth {
            AgentAuth::Open => true,
            AgentAuth::Shared => !self.clients.contains_key(client_id),
            AgentAuth::Client(own) => own == client_id,
        }
    }

    /// Whether `offered` opens the API: any request when no API token is configured, else
    /// only one of them, compared in constant time.
    pub fn check_api(&self, offered: Option<&str>) -> bool {
        self.api.is_empty()
            || offered.is_some_and(|o| {
                self.api
                    .iter()
                    .any(|t| constant_time_eq(t.as_bytes(), o.as_bytes()))
            })
    }
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Off loopback, every token (agent, client and API) must be at least this long.
pub const MIN_TOKEN_CHARS: usize = 16;

impl Tokens {
    /// The first configured token shorter than [`MIN_TOKEN_CHARS`]: (its kind, its length).
    pub fn too_short(&self) -> Option<(&'static str, usize)> {
        let kinds = [
            ("--agent-token", self.agent.iter().collect::<Vec<_>>()),
            ("--client-token", self.clients.values().collect()),
            ("--api-token", self.api.iter().collect()),
        ];
        kinds.into_iter().find_map(|(kind, tokens)| {
            tokens
                .iter()
                .map(|t| t.chars().count())
                .find(|&n| n < MIN_TOKEN_CHARS)
                .map(|n| (kind, n))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn agent_tokens_are_checked_only_when_configured() {
        let open = Tokens::default();
        assert_eq!(open.check_agent(&json!({})).ok(), Some(AgentAuth::Open));
        let closed = Tokens {
            agent: vec!["s3cret".into()],
            ..Tokens::default()
        };
        assert!(closed.check_agent(&json!({"token": "s3cret"})).is_ok());
        assert!(closed.check_agent(&json!({"token": "s3cre"})).is_err());
        assert!(closed.check_agent(&json!({"token": 5})).is_err());
        assert!(closed.check_agent(&Value::Null).is_err());
    }

    #[test]
    fn a_client_with_its_own_token_must_use_it_and_only_for_itself() {
        let tokens = Tokens {
            agent: vec!["shared".into()],
            clients: HashMap::from([("pc-a".into(), "token-a".into())]),
            ..Tokens::default()
        };
        let own = tokens.check_agent(&json!({"clientId": "pc-a", "token": "token-a"}));
        assert_eq!(own.ok(), Some(AgentAuth::Client("pc-a".into())));
        assert!(tokens
            .check_agent(&json!({"clientId": "pc-a", "token": "shared"}))
            .is_err());
        assert!(tokens
            .check_agent(&json!({"clientId": "pc-b", "token": "token-a"}))
            .is_err());
        let shared = tokens.check_agent(&json!({"clientId": "pc-b", "token": "shared"}));
        assert_eq!(shared.ok(), Some(AgentAuth::Shared));
        // `register` must name the client the handshake proved.
        assert!(tokens.may_register(&AgentAuth::Client("pc-a".into()), "pc-a"));
        assert!(!tokens.may_register(&AgentAuth::Client("pc-a".into()), "pc-b"));
        assert!(!tokens.may_register(&AgentAuth::Shared, "pc-a"));
        assert!(tokens.may_register(&AgentAuth::Shared, "pc-b"));
        // Per-client tokens alone: a client without one has nothing to show.
        let only_own = Tokens {
            clients: HashMap::from([("pc-a".into(), "token-a".into())]),
            ..Tokens::default()
        };
        assert!(only_own.check_agent(&json!({"clientId": "pc-b"})).is_err());
        assert!(only_own
            .check_agent(&json!({"clientId": "pc-b", "token": ""}))
            .is_err());
    }

    #[test]
    fn api_tokens_accept_only_exact_matches() {
        let tokens = Tokens {
            api: vec!["abc".into()],
            ..Tokens::default()
        };
        assert!(tokens.check_api(Some("abc")));
        assert!(!tokens.check_api(Some("abcd")));
        assert!(!tokens.check_api(None));
        assert!(Tokens::default().check_api(None));
    }

    #[test]
    fn short_tokens_are_found_whatever_their_kind() {
        let long = "0123456789abcdef".to_owned();
        let mut tokens = Tokens {
            agent: vec![long.clone()],
            clients: HashMap::from([("pc".into(), long.clone())]),
            api: vec![long.clone()],
        };
        assert_eq!(tokens.too_short(), None);
        tokens.api.push("short".into());
        assert_eq!(tokens.too_short(), Some(("--api-token", 5)));
        tokens.clients.insert("pc2".into(), "令牌".repeat(7));
        assert_eq!(tokens.too_short(), Some(("--client-token", 14)));
    }
}
