//! Accepting connections and serving HTTP/1.1 on them, so that slow or idle clients cannot
//! exhaust the server (contract §9.4).
//!
//! poem's own `Server` has one idle timer that any byte resets, so a client sending its head a
//! byte at a time keeps a connection forever. Here each connection is served by hyper and
//! watched through the phase it is in:
//!
//! - **head**: from the connection's start, or the first byte after an idle spell, until the
//!   head is complete: at most `server.header_timeout_ms`;
//! - **busy**: from the head until the answer is sent; the request body must arrive within
//!   `server.header_timeout_ms` of the head (see [`Deadline`]), the endpoint takes what it takes;
//! - **idle**: from the answer until the next byte: at most `server.keep_alive_secs`.
//!
//! A connection past its phase's limit is dropped. A head hyper cannot parse (400), with too
//! long a URI (414) or too many or too large headers (431) gets its answer in the API's
//! envelope (see [`Watched`]), as every other error does. At most `server.max_connections` are open at
//! once: the accept loop takes a permit before accepting, so further clients wait in the listen
//! backlog instead of taking file descriptors, and the connections already open keep being
//! served.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::TokioIo;
use poem::{
    Addr, Endpoint, EndpointExt, IntoEndpoint,
    endpoint::BoxEndpoint,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, Semaphore, watch},
    task::JoinSet,
    time::{Instant, Sleep},
};

use crate::config::ServerConfig;

/// A request body as poem hands it over.
type PoemBody = http_body_util::combinators::BoxBody<Bytes, io::Error>;

/// The limits a connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub keep_alive: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn of(config: &ServerConfig) -> Limits {
        Limits {
            header_timeout: Duration::from_millis(config.header_timeout_ms),
            keep_alive: Duration::from_secs(config.keep_alive_secs),
            max_connections: config.max_connections,
        }
    }
}

type Shared = Arc<BoxEndpoint<'static>>;

/// How long requests in flight may take to finish once a stop is asked for.
const GRACE: Duration = Duration::from_secs(10);
/// Pause after a failed accept (e.g. out of file descriptors), instead of spinning on it.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `endpoint` on `listener` until `shutdown` resolves; then stops accepting and gives
/// the open connections [`GRACE`] to finish what they are answering.
pub async fn serve(
    listener: TcpListener,
    endpoint: impl IntoEndpoint<Endpoint: 'static>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let endpoint: Shared = Arc::new(endpoint.into_endpoint().map_to_response().boxed());
    let local = listener.local_addr()?;
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(error = %err, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let (endpoint, stopping) = (endpoint.clone(), stopping.clone());
        connections.spawn(async move {
            serve_connection(socket, (local, peer), endpoint, limits, stopping).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let finished = tokio::time::timeout(GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!("connections still open after the grace period are closed");
    }
    Ok(())
}

async fn serve_connection(
    socket: TcpStream,
    (local, peer): (SocketAddr, SocketAddr),
    endpoint: Shared,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) {
    let watch = Arc::new(Watch::new());
    let service = hyper::service::service_fn({
        let watch = watch.clone();
        move |req: hyper::Request<Incoming>| {
            let (endpoint, watch) = (endpoint.clone(), watch.clone());
            async move {
                watch.begin_request();
                let mut req = poem::Request::from((
                    req,
                    LocalAddr(Addr::SocketAddr(local)),
                    RemoteAddr(Addr::SocketAddr(peer)),
                    Scheme::HTTP,
                ));
                let body: PoemBody = req.take_body().into();
                let expired = BodyExpired::default();
                req.extensions_mut().insert(expired.clone());
                req.set_body(poem::Body::from(
                    Deadline::new(body, limits.header_timeout, expired).boxed(),
                ));
                let response: hyper::Response<_> = endpoint.get_response(req).await.into();
                Ok::<_, std::convert::Infallible>(response.map(|body| Answer {
                    body,
                    watch: Some(watch),
                }))
            }
        }
    });
    let io = TokioIo::new(Watched {
        io: socket,
        watch: watch.clone(),
        replacement: None,
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    loop {
        let deadline = watch.deadline(&limits);
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = watch.changed.notified() => {}
            _ = sleep_until(deadline) => {
                if watch.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(peer = %peer, "closing a connection past its time limit");
                    return;
                }
            }
            _ = async { stopping.wait_for(|stop| *stop).await.is_ok() } => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.as_mut().await;
                return;
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Where a connection is between requests (see the module's documentation).
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request head to complete, since then.
    Head(Instant),
    /// Answering this many requests; at 0, the last answer is handed over but not yet flushed
    /// to the socket.
    Busy(usize),
    /// Answered everything, nothing received since then.
    Idle(Instant),
}

struct Watch {
    phase: Mutex<Phase>,
    /// Woken when the deadline may have moved earlier (idle → head).
    changed: Notify,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
        }
    }

    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match *self.phase.lock().unwrap() {
            Phase::Head(since) => Some(since + limits.header_timeout),
            Phase::Busy(_) => None,
            Phase::Idle(since) => Some(since + limits.keep_alive),
        }
    }

    fn received(&self) {
        let mut phase = self.phase.lock().unwrap();
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }

    fn begin_request(&self) {
        let mut phase = self.phase.lock().unwrap();
        *phase = match *phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        };
    }

    /// No request is being answered: nothing hyper writes now answers one.
    fn outside_request(&self) -> bool {
        !matches!(*self.phase.lock().unwrap(), Phase::Busy(_))
    }

    fn end_request(&self) {
        let mut phase = self.phase.lock().unwrap();
        if let Phase::Busy(n) = *phase {
            *phase = Phase::Busy(n.saturating_sub(1));
        }
    }

    /// hyper flushed what it wrote: when every answer is handed over, it is all on the socket
    /// now, and the connection is idle.
    fn flushed(&self) {
        let mut phase = self.phase.lock().unwrap();
        if let Phase::Busy(0) = *phase {
            *phase = Phase::Idle(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }
}

/// The socket, telling the [`Watch`] when bytes arrive; and putting hyper's own answers (a
/// request it cannot parse: 400, 414, 431, sent with an empty body) into the API's envelope.
struct Watched {
    io: TcpStream,
    watch: Arc<Watch>,
    /// The enveloped answer being sent in place of hyper's, and how much of it is sent.
    replacement: Option<(Vec<u8>, usize)>,
}

impl Watched {
    /// Writes `written` bytes from hyper. Outside a request (no head reached the endpoint, and
    /// every answer is flushed) hyper only writes its own answer to an unparsable head, before
    /// closing: that is sent enveloped instead, and hyper is told its bytes went out.
    fn poll_answer(
        &mut self,
        cx: &mut Context<'_>,
        first: &[u8],
        written: usize,
    ) -> Option<Poll<io::Result<usize>>> {
        if self.replacement.is_none() {
            if !self.watch.outside_request() || !first.starts_with(b"HTTP/1.1 4") {
                return None;
            }
            self.replacement = Some((own_answer(first), 0));
        }
        let (answer, sent) = self.replacement.as_mut().expect("set above");
        while *sent < answer.len() {
            match Pin::new(&mut self.io).poll_write(cx, &answer[*sent..]) {
                Poll::Ready(Ok(0)) => {
                    return Some(Poll::Ready(Err(io::ErrorKind::WriteZero.into())));
                }
                Poll::Ready(Ok(n)) => *sent += n,
                other => return Some(other),
            }
        }
        // Everything after (the rest of hyper's answer) is dropped: the connection closes.
        Some(Poll::Ready(Ok(written)))
    }
}

/// The enveloped answer for hyper's answer that starts with `head` (`HTTP/1.1 431 ...`).
fn own_answer(head: &[u8]) -> Vec<u8> {
    let status = head
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| poem::http::StatusCode::from_u16(code).ok())
        .unwrap_or(poem::http::StatusCode::BAD_REQUEST);
    let message = match status.as_u16() {
        414 => "URI too long.",
        431 => "Request headers too large.",
        _ => "Malformed request.",
    };
    let code =
        poem_openapi::types::ToJSON::to_json(&crate::api::errors::ErrorCode::for_status(status));
    let body = serde_json::json!({ "message": message, "code": code }).to_string();
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        body.len()
    )
    .into_bytes()
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.received();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(polled) = self.poll_answer(cx, buf, buf.len()) {
            return polled;
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        let total = bufs.iter().map(|b| b.len()).sum();
        if let Some(polled) = self.poll_answer(cx, first, total) {
            return polled;
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        if matches!(polled, Poll::Ready(Ok(()))) {
            self.watch.flushed();
        }
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// An answer's body; when hyper is done with it (all of it handed over, or the connection
/// failed) the request is over, and the connection idle once hyper has flushed.
struct Answer<B> {
    body: B,
    watch: Option<Arc<Watch>>,
}

impl<B> Drop for Answer<B> {
    fn drop(&mut self) {
        if let Some(watch) = self.watch.take() {
            watch.end_request();
        }
    }
}

impl<B: HttpBody + Unpin> HttpBody for Answer<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Set (in the request's extensions) once the request's body missed its [`Deadline`]: whatever
/// then failed while reading it (JSON, a form, an upload streamed to storage) is answered 408.
#[derive(Debug, Clone, Default)]
pub struct BodyExpired(Arc<AtomicBool>);

impl BodyExpired {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A request body that must arrive whole within a time limit from the request head; past it,
/// reading fails (`TimedOut`), as a client stalling its body would otherwise hold the request.
pub struct Deadline<B> {
    body: B,
    timer: Pin<Box<Sleep>>,
    expired: BodyExpired,
}

impl<B> Deadline<B> {
    pub fn new(body: B, limit: Duration, expired: BodyExpired) -> Deadline<B> {
        Deadline {
            body,
            timer: Box::pin(tokio::time::sleep(limit)),
            expired,
        }
    }
}

impl<B> HttpBody for Deadline<B>
where
    B: HttpBody<Data = Bytes, Error = io::Error> + Unpin,
{
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err({
                self.expired.0.store(true, Ordering::Relaxed);
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the request body did not arrive in time (server.header_timeout_ms)",
                )
            }))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
