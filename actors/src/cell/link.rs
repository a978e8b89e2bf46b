//! How a cell reaches its running actor: the actor's address held as recipients of the messages
//! the bus ([`Deliver`]) and the root supervisor (`Restart`, `Stop`, `Kill`) send it. Recipients,
//! not `Addr<ComponentActor>`, so that the cell — and the router and services that hold cells —
//! do not depend on the component actor's type.

use crate::bus::slots::Slot;
use crate::envelope::Envelope;
use crate::lifecycle::{Kill, Restart, Stop};
use actix::dev::ToEnvelope;
use actix::prelude::*;

/// A message for the component (holds its mailbox slot until handled).
pub struct Deliver {
    pub env: Envelope,
    pub permit: Option<Slot>,
    /// Pipes already ran.
    pub piped: bool,
}

impl Message for Deliver {
    type Result = ();
}

/// The running actor of one cell, set once when it starts (a restart keeps the actor, and so the
/// link).
pub struct ActorLink {
    pub(crate) deliver: Recipient<Deliver>,
    pub(crate) restart: Recipient<Restart>,
    pub(crate) stop: Recipient<Stop>,
    pub(crate) kill: Recipient<Kill>,
}

impl ActorLink {
    /// The link to `addr`, an actor that takes every message a cell's actor is sent.
    pub(crate) fn new<A>(addr: Addr<A>) -> ActorLink
    where
        A: Actor + Handler<Deliver> + Handler<Restart> + Handler<Stop> + Handler<Kill>,
        A::Context: ToEnvelope<A, Deliver>
            + ToEnvelope<A, Restart>
            + ToEnvelope<A, Stop>
            + ToEnvelope<A, Kill>,
    {
        ActorLink {
            deliver: addr.clone().recipient(),
            restart: addr.clone().recipient(),
            stop: addr.clone().recipient(),
            kill: addr.recipient(),
        }
    }
}
