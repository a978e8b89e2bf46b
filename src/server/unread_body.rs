//! A chunked request body the server stopped reading (a stalled upload answered 408, a body over
//! the limit answered 413, a request answered without reading its body at all) must not keep
//! the connection open. actix-http closes a connection after an answer only while the request's body
//! is still held and unfinished; once the handler drops it, actix-http instead drains a chunked
//! body to its end to reuse the connection — with no timer, so a client that stalls holds the
//! connection (and its worker's slot) forever.
//!
//! So the body of a chunked request is shared between the handler and the middleware, and the
//! answer keeps it until the answer is written: actix-http then closes the connection (after
//! its one-second linger). A body read to its end is unaffected.

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// The request body, kept by the middleware while the handler reads it.
pub struct Unread(Rc<RefCell<Payload>>);

/// True when the request body is sent in chunks (the only kind actix-http drains after an answer;
/// a `Content-Length` body left unread already closes the connection).
pub fn is_chunked(req: &ServiceRequest) -> bool {
    req.headers()
        .get_all(header::TRANSFER_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("chunked"))
}

/// Gives the handler a handle on the request body and keeps the body itself.
pub fn share(req: &mut ServiceRequest) -> Unread {
    let (_, payload) = req.parts_mut();
    let body = Rc::new(RefCell::new(std::mem::replace(payload, Payload::None)));
    *payload = Payload::Stream {
        payload: Box::pin(Handle(body.clone())),
    };
    Unread(body)
}

impl Unread {
    /// The answer, holding the body until it is written (see the module doc).
    pub fn keep_until_sent<B: MessageBody + 'static>(
        self,
        res: ServiceResponse<B>,
    ) -> ServiceResponse<BoxBody> {
        res.map_body(|_, body| {
            BoxBody::new(Held {
                body: body.boxed(),
                _payload: self.0,
            })
        })
    }
}

/// The handler's side of the shared body.
struct Handle(Rc<RefCell<Payload>>);

impl Stream for Handle {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.0.try_borrow_mut() {
            Ok(mut payload) => payload.poll_next_unpin(cx),
            // Never happens (one reader, one thread); an error beats a panic if it ever did.
            Err(_) => Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::other(
                "request body read twice at once",
            ))))),
        }
    }
}

/// An answer's body that owns the request body until it is dropped.
struct Held {
    body: BoxBody,
    _payload: Rc<RefCell<Payload>>,
}

impl MessageBody for Held {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}
