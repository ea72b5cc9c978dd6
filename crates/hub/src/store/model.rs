//! What the store takes (writes, new jobs, presence) and gives (clients, jobs, what a
//! write came to).

use super::*;

/// A client as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub client_id: String,
    pub connected: bool,
    pub socket_id: Option<String>,
    pub last_seen: u64,
    /// The agent's last `client_info` (printers, version, host).
    pub info: Option<ClientInfo>,
    /// Last application heartbeat on the current connection (kept in memory, not stored).
    pub last_heartbeat_at: Option<u64>,
    /// Round trip the agent last measured to this hub, in ms.
    pub rtt_ms: Option<u64>,
    /// The hub node that holds it, as stored (set on register, cleared on offline).
    #[serde(skip)]
    pub node_id: Option<String>,
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job_id: String,
    pub client_id: String,
    /// `queued` (waiting for the client), `delivered` (sent, no status yet), then the
    /// agent's states: `received`, `spooled`, `completed`, `failed`...
    pub state: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub expires_at: Option<u64>,
    pub error: Option<Value>,
    /// When the job first went to its client.
    pub delivered_at: Option<u64>,
    /// When someone asked to cancel it while its client had it (the agent is asked; the
    /// state turns `cancelled` when it confirms).
    pub cancel_requested_at: Option<u64>,
    /// Every status the agent reported, oldest first.
    pub events: Vec<Value>,
}

/// Which jobs to list, newest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobQuery<'a> {
    pub client_id: Option<&'a str>,
    pub state: Option<&'a str>,
    /// A piece of the job id or client id, in any case.
    pub text: Option<&'a str>,
    /// Created at or after (ms since the Unix epoch).
    pub since: Option<u64>,
    /// Created before.
    pub until: Option<u64>,
    /// At most this many (1 to 1000).
    pub limit: usize,
    pub offset: usize,
}

/// A job that moved to a new state.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub job_id: String,
    pub client_id: String,
    pub state: String,
    pub error: Option<Value>,
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_id: String,
    pub client_id: String,
    /// What the agent gets, as JSON text.
    pub payload: String,
    pub expires_at: Option<u64>,
}

/// A client registered on a socket (`online`), or that socket closed.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    pub client_id: String,
    pub sid: String,
    /// The hub node the socket is connected to.
    pub node_id: String,
    pub online: bool,
    pub at: u64,
}

/// One write of a batch: a job to queue, a status an agent reported, a client's
/// presence, or the periodic upkeep.
#[derive(Debug, Clone, Copy)]
pub enum Write<'a> {
    Job(&'a NewJob),
    Status(&'a Value),
    Presence(&'a Presence),
    Upkeep(&'a Upkeep),
    Cancel(&'a CancelOrder),
}

/// Someone asks to cancel a job (`POST /api/v1/jobs/{id}/cancel`), or its agent answered
/// a `cancel_job` saying it never stored the job.
#[derive(Debug, Clone, PartialEq)]
pub struct CancelOrder {
    pub job_id: String,
    /// The agent answered `unknown_job`: a `delivered` job may end at the hub.
    pub agent_lacks_it: bool,
}

/// What a cancel order came to.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelOutcome {
    /// The job waited at the hub (or its agent never stored it): `cancelled` now.
    AtHub(StateChange),
    /// The client holds the job in this state: the agent is asked to cancel it.
    Requested {
        client_id: String,
        state: String,
    },
    /// The job ended already, in this state.
    Finished(String),
    NotFound,
}

/// What one write of a batch came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Job(Inserted),
    Status(Applied),
    Presence,
    /// The jobs that expired.
    Upkeep(Vec<StateChange>),
    Cancel(CancelOutcome),
}

/// What a status came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The job moved to the status's state.
    Moved(StateChange),
    /// Stored in the job's history; the job was there or further already.
    Kept,
    /// No job has that id: not stored.
    UnknownJob,
    /// Not a state an agent may report: not stored.
    InvalidState,
}

/// The periodic upkeep: expire waiting jobs whose time passed, and purge finished jobs
/// (with their histories) last changed before `purge_before`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Upkeep {
    pub purge_before: Option<u64>,
}

/// What queueing one job came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    Created,
    /// The id was taken already; the state of the job that has it.
    Exists(String),
}

impl Client {
    /// A client registered a moment ago that the writer has not stored yet.
    pub fn live(client_id: String, sid: String, now: u64) -> Self {
        Self {
            client_id,
            connected: true,
            socket_id: Some(sid),
            last_seen: now,
            info: None,
            last_heartbeat_at: None,
            rtt_ms: None,
            node_id: None,
        }
    }
}
